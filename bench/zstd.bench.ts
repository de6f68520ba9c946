/**
 * zstd: level and library (issue 26). Standalone, not part of `npm run bench`:
 *
 *   node --import tsx bench/zstd.bench.ts [--quick] [--levels 1,3,6,9,19] [--libs a,b] [--rounds 5] [--md]
 *
 * Data: 4 MiB slices of what a lab image holds — system binaries and libraries from /usr, text
 * (/usr/share/doc, /usr/include, Perl and Python sources), and random bytes — read in a fixed
 * order, so a run on the same machine compresses the same bytes. For every library and level:
 * the ratio, compression and decompression MB/s on one core (of image bytes), and decompression
 * plus MD5 (what a receiving core does per slice). Baseline, measured in the same run, in the
 * same rounds: MD5 of the same bytes on one core (OpenSSL); speeds are printed also as × MD5.
 * Speeds are per CPU second of this process (user + system, process.cpuUsage): MB/s per core even
 * on a shared machine; each is the median of `rounds` interleaved rounds.
 *
 * Libraries: cascade's own (common/src/compress: Node's zstd when the runtime has one, else the
 * WebAssembly module of @foxglove/wasm-zstd with synchronous glue), and, when installed (e.g.
 * `npm i --no-save @bokuweb/zstd-wasm zstd-codec @oneidentity/zstd-js fzstd @hpcc-js/wasm-zstd
 * zstddec @toondepauw/node-zstd`), the others compared, each through its own loader; the zstd CLI (native C,
 * `zstd -b`) as the reference for what the same zstd does natively.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { nodeZstdCodec } from '@cascade/common';
import { zstdWasmModule } from '../packages/common/src/compress/zstd-wasm-module.js';
import { zstdWasmCodec } from '../packages/common/src/compress/zstd-wasm.js';
import { renderMarkdown, renderText, type BenchTable } from './lib/report.js';

const SLICE = 4 << 20;
const MB = 1e6;
const require = createRequire(import.meta.url);
/** An optional package, by a name the type checker does not resolve (it may not be installed). */
const load = (name: string): Promise<unknown> => import(name);

interface Lib {
  name: string;
  compress?: (src: Uint8Array, level: number) => Uint8Array;
  /** Decompress `src` whose image length is `n`. */
  decompress: (src: Uint8Array, n: number) => Uint8Array;
}

type AnyFn = (...a: unknown[]) => unknown;
/** A package's export, typed loosely (candidates have no types here). */
function fn(obj: unknown, ...path: string[]): AnyFn {
  let o = obj as Record<string, unknown>;
  for (const p of path) o = o[p] as Record<string, unknown>;
  return o as unknown as AnyFn;
}

let wantedLibs: string[] | undefined;

async function optional(name: string, make: () => Promise<Lib>): Promise<Lib | string> {
  if (wantedLibs && !wantedLibs.some((w) => name.includes(w))) return `${name}: not asked for (--libs)`;
  try {
    return await make();
  } catch (err) {
    return `${name}: not measured (${(err as Error).message.split('\n')[0]})`;
  }
}

async function libraries(): Promise<{ libs: Lib[]; skipped: string[] }> {
  const wasm = zstdWasmCodec(zstdWasmModule());
  const own = (c: typeof wasm, name: string): Lib => ({
    name,
    compress: (s, l) => c.compress(s, l),
    decompress: (s, n) => {
      const out = new Uint8Array(n);
      c.decompressInto(s, out);
      return out;
    },
  });
  const found: (Lib | string)[] = [own(wasm, 'cascade wasm (@foxglove/wasm-zstd module, own glue)')];
  const node = nodeZstdCodec(zlib);
  if (node) found.push(own(node, `node:zlib zstd (${process.version})`));
  else found.push(`node:zlib zstd: not in ${process.version} (Node ≥ 22.15 has it)`);
  found.push(
    await optional('@bokuweb/zstd-wasm', async () => {
      const m: unknown = await load('@bokuweb/zstd-wasm');
      await fn(m, 'init')();
      return {
        name: '@bokuweb/zstd-wasm 0.0.27 (its own loader)',
        compress: (s, l) => fn(m, 'compress')(s, l) as Uint8Array,
        decompress: (s) => fn(m, 'decompress')(s) as Uint8Array,
      };
    }),
    await optional('zstd-codec', async () => {
      const z = await new Promise((r) => fn(require('zstd-codec'), 'ZstdCodec', 'run')(r));
      const simple = new (fn(z, 'Simple') as unknown as new () => Record<string, AnyFn>)();
      return {
        name: 'zstd-codec 0.1.5',
        compress: (s, l) => simple['compress']!(s, l) as Uint8Array,
        decompress: (s) => simple['decompress']!(s) as Uint8Array,
      };
    }),
    await optional('@oneidentity/zstd-js', async () => {
      const { ZstdSimple } = (await fn(require('@oneidentity/zstd-js/wasm/index.cjs.js'), 'ZstdInit')()) as {
        ZstdSimple: Record<string, AnyFn>;
      };
      return {
        name: '@oneidentity/zstd-js 1.0.3 (wasm)',
        compress: (s, l) => ZstdSimple['compress']!(s, l) as Uint8Array,
        decompress: (s) => ZstdSimple['decompress']!(s) as Uint8Array,
      };
    }),
    await optional('@foxglove/wasm-zstd', async () => {
      const z = require('@foxglove/wasm-zstd') as Record<string, unknown>;
      await z['isLoaded'];
      return {
        name: '@foxglove/wasm-zstd 1.0.1 (its own loader)',
        compress: (s, l) => fn(z, 'compress')(s, l) as Uint8Array,
        decompress: (s, n) => fn(z, 'decompress')(s, n) as Uint8Array,
      };
    }),
    await optional('@hpcc-js/wasm-zstd', async () => {
      const m: unknown = await load('@hpcc-js/wasm-zstd');
      const z = (await fn(m, 'Zstd', 'load').call(fn(m, 'Zstd'))) as Record<string, AnyFn>;
      return {
        name: '@hpcc-js/wasm-zstd 1.12.5',
        compress: (s, l) => z['compress']!.call(z, s, l) as Uint8Array,
        decompress: (s) => z['decompress']!.call(z, s) as Uint8Array,
      };
    }),
    await optional('zstddec', async () => {
      const m: unknown = await load('zstddec');
      const d = new (fn(m, 'ZSTDDecoder') as unknown as new () => Record<string, AnyFn>)();
      await d['init']!.call(d);
      return { name: 'zstddec 0.3.4 (decoder only)', decompress: (s, n) => d['decode']!.call(d, s, n) as Uint8Array };
    }),
    await optional('fzstd', async () => {
      const m: unknown = await load('fzstd');
      return {
        name: 'fzstd 0.1.1 (pure JS, decoder only)',
        decompress: (s, n) => fn(m, 'decompress')(s, new Uint8Array(n)) as Uint8Array,
      };
    }),
    await optional('@toondepauw/node-zstd', async () => {
      const m = require('@toondepauw/node-zstd') as Record<string, new (...a: unknown[]) => Record<string, AnyFn>>;
      const dec = new m['Decoder']!();
      const buf = (s: Uint8Array): Buffer => Buffer.from(s.buffer, s.byteOffset, s.length);
      return {
        name: '@toondepauw/node-zstd 2.0.0 (native; not bundleable)',
        compress: (s, l) => new m['Encoder']!(l).encodeSync!(buf(s)) as Uint8Array,
        decompress: (s) => dec['decodeSync']!(buf(s)) as Uint8Array,
      };
    }),
  );
  return {
    libs: found.filter((f): f is Lib => typeof f !== 'string'),
    skipped: found.filter((f): f is string => typeof f === 'string'),
  };
}

/** Files under `dirs` (sorted walk) whose name passes `keep`, concatenated up to `limit` bytes. */
function collect(dirs: string[], limit: number, keep: (name: string) => boolean): Buffer {
  const parts: Buffer[] = [];
  let n = 0;
  const walk = (d: string): void => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    } catch {
      return;
    }
    for (const e of entries) {
      if (n >= limit) return;
      const p = join(d, e.name);
      if (e.isDirectory() && !e.isSymbolicLink()) walk(p);
      else if (e.isFile() && keep(e.name)) {
        try {
          const b = readFileSync(p);
          parts.push(b);
          n += b.length;
        } catch {
          // unreadable: skipped
        }
      }
    }
  };
  for (const d of dirs) walk(d);
  return Buffer.concat(parts).subarray(0, limit);
}

function slices(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at + SLICE <= b.length; at += SLICE) out.push(b.subarray(at, at + SLICE));
  return out;
}

interface Corpus {
  binaries: Buffer[];
  text: Buffer[];
  random: Buffer[];
}

function corpus(quick: boolean): Corpus {
  const mib = quick ? { bin: 16, text: 8, random: 4 } : { bin: 48, text: 16, random: 8 };
  const packed = /\.(gz|xz|zst|bz2|lz4|png|jpg|jpeg|woff2?|zip)$/;
  return {
    binaries: slices(
      collect(
        ['/usr/lib/x86_64-linux-gnu', '/usr/bin', '/usr/sbin', '/usr/lib'],
        mib.bin << 20,
        (n) => !packed.test(n),
      ),
    ),
    text: slices(
      collect(
        ['/usr/share/doc', '/usr/include', '/usr/share/perl', '/usr/lib/python3'],
        mib.text << 20,
        (n) => /\.(h|txt|pm|pl|py|md|html|c|rst)$/.test(n) || n === 'copyright' || n.startsWith('README'),
      ),
    ),
    random: slices(randomBytes(mib.random << 20)),
  };
}

/** CPU milliseconds (this process, user + system) now: speeds per core, whatever else runs. */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** CPU milliseconds per call of `f`, over at least `minMs` of CPU. */
function timeIt(f: () => void, minMs: number): number {
  const t0 = cpuMs();
  let n = 0;
  let t = 0;
  do {
    f();
    n++;
    t = cpuMs() - t0;
  } while (t < minMs);
  return t / n;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const md5 = (s: Uint8Array): string => createHash('md5').update(s).digest('hex');

/** The zstd CLI's own benchmark (`zstd -b`), 4 MiB blocks: native ratio, compress, decompress MB/s. */
function cliReference(all: Buffer[], level: number): [number, number, number] | null {
  const dir = mkdtempSync(join(tmpdir(), 'zstd-bench-'));
  try {
    const file = join(dir, 'corpus');
    writeFileSync(file, Buffer.concat(all));
    const run = spawnSync('zstd', [`-b${level}`, '-B4194304', '-i3', file], { encoding: 'utf8' });
    const text = `${run.stdout ?? ''}${run.stderr ?? ''}`;
    const found = [...text.matchAll(/\(x\s*([\d.]+)\),?\s+([\d.]+) MB\/s,?\s+([\d.]+) MB\/s/g)];
    const m = found[found.length - 1];
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Row {
  lib: string;
  level: number;
  ratio: { all: number; binaries: number; text: number; random: number } | null;
  compress: number | null;
  decompress: number;
  decompressMd5: number;
  md5: number;
  /** Compression failed at this level (the error). */
  failed?: string;
}

function measure(libs: Lib[], data: Corpus, level: number, rounds: number, quick: boolean): Row[] {
  const all = [...data.binaries, ...data.text, ...data.random];
  const bytes = all.length * SLICE;
  const reference = libs[0]!;
  const frames = all.map((s) => reference.compress!(s, level));
  // Compression at high levels is slow: once over every third slice (always some of each kind).
  const slowLevel = level >= 9;
  const compressSet = slowLevel || quick ? all.filter((_, i) => i % 3 === 0) : all;
  const rows = libs.map<Row & { c: number[]; d: number[]; dm: number[]; m: number[] }>((lib) => ({
    lib: lib.name,
    level,
    ratio: null,
    compress: null,
    decompress: 0,
    decompressMd5: 0,
    md5: 0,
    c: [],
    d: [],
    dm: [],
    m: [],
  }));
  for (let r = 0; r < rounds; r++) {
    libs.forEach((lib, i) => {
      const row = rows[i]!;
      row.m.push(bytes / MB / (timeIt(() => all.forEach(md5), 200) / 1000));
      try {
        row.d.push(bytes / MB / (timeIt(() => frames.forEach((f) => lib.decompress(f, SLICE)), 200) / 1000));
        row.dm.push(bytes / MB / (timeIt(() => frames.forEach((f) => md5(lib.decompress(f, SLICE))), 200) / 1000));
      } catch (err) {
        row.failed = `decompression: ${(err as Error).message ?? String(err)}`;
      }
      if (lib.compress && (r === 0 || !slowLevel)) {
        const compress = lib.compress;
        try {
          const ms = timeIt(() => compressSet.forEach((s) => compress(s, level)), slowLevel ? 1 : 200);
          row.c.push((compressSet.length * SLICE) / MB / (ms / 1000));
        } catch (err) {
          row.failed = (err as Error).message ?? String(err);
        }
      }
    });
  }
  libs.forEach((lib, i) => {
    const row = rows[i]!;
    if (lib.compress && row.failed === undefined) {
      const compress = lib.compress;
      const size = (set: Buffer[]): number =>
        set.filter((_, k) => !slowLevel || k % 3 === 0).reduce((n, s) => n + compress(s, level).length, 0);
      const part = (set: Buffer[]): number =>
        (set.filter((_, k) => !slowLevel || k % 3 === 0).length * SLICE) / Math.max(1, size(set));
      const ratios = { binaries: part(data.binaries), text: part(data.text), random: part(data.random) };
      // The whole corpus's ratio from each kind's (at slow levels each kind was sampled alike).
      const kinds = ['binaries', 'text', 'random'] as const;
      const wire = kinds.reduce((n, k) => n + (data[k].length * SLICE) / ratios[k], 0);
      row.ratio = { all: (all.length * SLICE) / wire, ...ratios };
      row.compress = median(row.c);
    }
    row.decompress = median(row.d);
    row.decompressMd5 = median(row.dm);
    row.md5 = median(row.m);
  });
  return rows;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const levels = (arg('--levels') ?? '1,3,6,9,19').split(',').map(Number);
  const rounds = Number(arg('--rounds') ?? (quick ? 3 : 5));
  wantedLibs = arg('--libs')?.split(',');
  const { libs, skipped } = await libraries();
  const data = corpus(quick);
  const all = [...data.binaries, ...data.text, ...data.random];
  // Every library must give the bytes back: one that does not is reported, not measured.
  const probe = libs[0]!.compress!(all[0]!, 3);
  const good = libs.filter((lib) => {
    let back: Uint8Array | null = null;
    try {
      back = lib.decompress(probe, SLICE);
    } catch {
      back = null;
    }
    const ok = back !== null && back.length === SLICE && md5(back) === md5(all[0]!);
    if (!ok) skipped.push(`${lib.name}: not measured (wrong bytes back from a 4 MiB frame)`);
    return ok;
  });
  const f = (x: number | null, digits = 0): string => (x === null || Number.isNaN(x) ? '–' : x.toFixed(digits));
  const table: BenchTable = {
    title: 'zstd: level and library (4 MiB slices, one core)',
    header: [
      'library',
      'level',
      'ratio all',
      'bin',
      'text',
      'random',
      'compress MB/s',
      'decompress MB/s',
      '× MD5',
      'decompress+MD5 MB/s',
    ],
    rows: [],
    notes: [
      `data: ${data.binaries.length} slices of /usr binaries and libraries, ${data.text.length} of text, ` +
        `${data.random.length} of random bytes (4 MiB each); median of ${rounds} rounds; MB/s of image bytes`,
      ...skipped,
    ],
  };
  const md5s: number[] = [];
  for (const level of levels) {
    for (const r of measure(good, data, level, rounds, quick)) {
      md5s.push(r.md5);
      table.rows.push([
        r.lib,
        String(level),
        r.failed === undefined ? f(r.ratio?.all ?? null, 3) : 'fails',
        f(r.ratio?.binaries ?? null, 2),
        f(r.ratio?.text ?? null, 2),
        f(r.ratio?.random ?? null, 3),
        f(r.compress),
        f(r.decompress),
        f(r.decompress / r.md5, 2),
        f(r.decompressMd5),
      ]);
      if (r.failed !== undefined) table.notes.push(`${r.lib}, level ${level}: compression fails (${r.failed})`);
      process.stderr.write(`${table.rows[table.rows.length - 1]!.join(' | ')}\n`);
    }
    const cli = cliReference(all, level);
    if (cli)
      table.rows.push([
        'zstd CLI (native C, reference)',
        String(level),
        f(cli[0], 3),
        '',
        '',
        '',
        f(cli[1]),
        f(cli[2]),
        '',
        '',
      ]);
    process.stderr.write(`level ${level} done\n`);
  }
  table.notes.unshift(`baseline: MD5 (OpenSSL) of the same slices on one core, median ${f(median(md5s))} MB/s`);
  process.stdout.write(argv.includes('--md') ? renderMarkdown(table) : renderText(table));
}

await main();
