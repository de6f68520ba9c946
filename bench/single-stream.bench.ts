/**
 * Bench 1 — one stream on loopback: seeder → one peer (framing, a digest per slice verified on
 * the peer's hashing threads, positional writes, fsync), once with MD5 and once with sha256
 * manifests, against a raw TCP pipe of the same bytes into the same kind of target (no framing,
 * no hashing; and once more with MD5 hashed inline by its receiver: what hashing alone costs), all
 * interleaved so each round shares the machine's conditions. Each path runs
 * twice; the best run of each is reported. Then the seeder's startup: a peer already waiting,
 * time from launching the seeder to the peer's first slice.
 *
 *   node --import tsx bench/run.ts 1 [--stream-size 1GiB] [--quick]
 */
import { spawn } from 'node:child_process';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLab, writeImage } from '@cascade/cli';
import { logTime, progress, workdir } from './lib/cascade.js';
import type { BenchOptions } from './lib/options.js';
import { mbPerS, mib, ratio, type BenchResult } from './lib/report.js';
import { startupOnce, type StartupTimes } from './seeder-startup.js';

const RAW_PIPE = fileURLToPath(new URL('./lib/raw-pipe.ts', import.meta.url));
const RUNS = 2;
const STARTUP_RUNS = 2;

interface Runs {
  md5: number[];
  sha256: number[];
  raw: number[];
  /** The raw pipe flushing as it writes, as a peer does (a baseline without the final-flush difference). */
  rawFlushed: number[];
  rawMd5: number[];
  /** Of each run above: ms of its final flush (cascade: image verified → synced; raw: its fsync). */
  flush: { md5: number[]; sha256: number[]; raw: number[]; rawFlushed: number[]; rawMd5: number[] };
}

/** A run's time and the part of it spent in the final flush. */
interface Timed {
  ms: number;
  flushMs: number;
}

function record(runs: Runs, path: keyof Runs['flush'], t: Timed): void {
  runs[path].push(t.ms);
  runs.flush[path].push(t.flushMs);
}

/** RUNS rounds of MD5, sha256 and raw, interleaved. */
async function streamRounds(image: string, size: number, dir: string): Promise<Runs> {
  const runs: Runs = {
    md5: [],
    sha256: [],
    raw: [],
    rawFlushed: [],
    rawMd5: [],
    flush: { md5: [], sha256: [], raw: [], rawFlushed: [], rawMd5: [] },
  };
  for (let r = 1; r <= RUNS; r++) {
    progress(`bench 1: run ${r}/${RUNS} — cascade seeder → peer (MD5)`);
    record(runs, 'md5', await cascadeOnce(image, size, join(dir, `md5-${r}`), []));
    progress(`bench 1: run ${r}/${RUNS} — cascade seeder → peer (sha256)`);
    // Its own manifest cache, so the MD5 one beside the image stays (the startup runs use it).
    const sha = ['--digest', 'sha256', '--cache-dir', join(dir, 'sha256-cache')];
    record(runs, 'sha256', await cascadeOnce(image, size, join(dir, `sha256-${r}`), sha));
    progress(`bench 1: run ${r}/${RUNS} — raw TCP pipe`);
    record(runs, 'raw', await rawOnce(image, size, join(dir, `raw-${r}.img`)));
    progress(`bench 1: run ${r}/${RUNS} — raw TCP pipe, flushed as it writes`);
    record(runs, 'rawFlushed', await rawOnce(image, size, join(dir, `raw-flushed-${r}.img`), ['flush']));
    progress(`bench 1: run ${r}/${RUNS} — raw TCP pipe + MD5 inline (what hashing alone costs here)`);
    record(runs, 'rawMd5', await rawOnce(image, size, join(dir, `raw-md5-${r}.img`), ['md5', 'flush']));
  }
  return runs;
}

async function startupRounds(image: string, dir: string): Promise<StartupTimes[]> {
  const out: StartupTimes[] = [];
  for (let r = 1; r <= STARTUP_RUNS; r++) {
    progress(`bench 1: startup ${r}/${STARTUP_RUNS} — peer waiting, then the seeder launched`);
    const d = join(dir, `startup-${r}`);
    await mkdir(d, { recursive: true });
    out.push(await startupOnce(image, d));
    await rm(join(d, 'peer.img'), { force: true });
  }
  return out;
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const list = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(', ');

export async function singleStream(o: BenchOptions): Promise<BenchResult> {
  const size = o.size('stream-size', '1GiB', '256MiB');
  const wd = await workdir('stream');
  try {
    const image = join(wd.dir, 'image.img');
    progress(`bench 1: writing a ${mib(size)} image (no zero slices)`);
    await writeImage(image, { size, zeros: [] });
    const runs = await streamRounds(image, size, wd.dir);
    const startup = await startupRounds(image, wd.dir);
    return streamResult(size, runs, startup);
  } finally {
    await wd.done();
  }
}

type Path = keyof Runs['flush'];
const PATHS: Path[] = ['md5', 'sha256', 'raw', 'rawFlushed', 'rawMd5'];

function streamResult(size: number, runs: Runs, startup: StartupTimes[]): BenchResult {
  const best = Object.fromEntries(PATHS.map((p) => [p, Math.min(...runs[p])])) as Record<Path, number>;
  const rate = Object.fromEntries(PATHS.map((p) => [p, mbPerS(size, best[p])])) as Record<Path, number>;
  const first = Math.min(...startup.map((s) => s.firstSliceMs));
  const bestStart = startup.find((s) => s.firstSliceMs === first) ?? startup[0]!;
  const row = (name: string, p: Path): string[] => [
    name,
    secs(best[p]),
    rate[p].toFixed(0),
    ratio(rate[p], rate.raw),
    ratio(rate[p], rate.rawFlushed),
  ];
  const all = (f: (p: Path) => string): string =>
    `MD5 ${f('md5')}; sha256 ${f('sha256')}; raw ${f('raw')}; raw flushed ${f('rawFlushed')}; raw + MD5 ${f('rawMd5')}`;
  return {
    id: 1,
    name: 'single stream',
    tables: [
      {
        title: `1. Single stream on loopback (${mib(size)}, best of ${RUNS})`,
        header: ['path', 'time', 'MB/s', 'vs raw pipe', 'vs raw pipe flushed as it writes'],
        rows: [
          row('cascade seeder → peer (MD5 verified)', 'md5'),
          row('cascade seeder → peer (sha256 verified)', 'sha256'),
          row('raw TCP pipe (baseline, no hashing; one fsync at the end)', 'raw'),
          row('raw TCP pipe flushed as it writes (fdatasync every 64 MiB, as a peer)', 'rawFlushed'),
          row('raw TCP pipe flushed as it writes + MD5 of every 4 MiB (inline)', 'rawMd5'),
          ['seeder start → first slice at a waiting peer', secs(first), '', '', ''],
        ],
        notes: [
          'cascade: from the peer\'s "assigned" log line to its image verified and fsynced; raw: connect to last write fsynced',
          "every path writes into a target file already the image's size, its pages written just before the run (as a peer writes onto an existing disk): this VM takes freed memory back within ~2 s, and writing into such memory made a run's time depend on the pause before it",
          `all runs (ms): ${all((p) => list(runs[p]))}`,
          `of which the final flush (ms): ${all((p) => list(runs.flush[p]))}`,
          'raw + MD5: the flushed raw pipe whose receiver also hashes each 4 MiB before writing it (not overlapped): what MD5 alone costs on this machine (the raw rows write 4 MiB at a time, as cascade writes its default slices)',
          `startup (ms from launching the seeder, best of ${STARTUP_RUNS}; manifest cached): manifest ready ${bestStart.manifestMs ?? '?'}, serving ${bestStart.servingMs ?? '?'}, peer assigned ${bestStart.assignedMs ?? '?'}, first slice ${first}; all first-slice runs ${list(startup.map((s) => s.firstSliceMs))}`,
          'targets: MD5 ≥ 600 MB/s and ≥ 0.60 × the raw pipe; sha256 ≥ 0.80 ×; seeder start → first byte ≤ 1 s',
        ],
      },
    ],
    data: {
      size,
      runs,
      startup,
      rates: rate,
      ratioMd5: rate.md5 / rate.raw,
      ratioSha256: rate.sha256 / rate.raw,
      ratioRawMd5: rate.rawMd5 / rate.raw,
      ratioMd5Flushed: rate.md5 / rate.rawFlushed,
      ratioSha256Flushed: rate.sha256 / rate.rawFlushed,
    },
  };
}

/**
 * A target file of `size` bytes, every page written just now (a pattern, not the image), so the
 * timed run writes into memory already in use, as a peer writes onto an existing disk. Without it
 * a run's time depended on how long since this VM last freed memory: its hypervisor takes freed
 * memory back within ~2 s, and writing 1 GiB into such memory cost 1.2–2.4 s of system time
 * against 0.06 s into pages in use (dd, measured), whichever path ran.
 */
async function residentTarget(path: string, size: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const block = Buffer.alloc(4 * 2 ** 20, 0xa5);
    for (let at = 0; at < size; at += block.length) await fh.write(block, 0, Math.min(block.length, size - at), at);
  } finally {
    await fh.close();
  }
}

/** One cascade run with one peer; ms from assignment to image complete (verified, synced). */
async function cascadeOnce(image: string, size: number, dir: string, seederArgs: string[]): Promise<Timed> {
  await mkdir(dir, { recursive: true });
  await residentTarget(join(dir, 'peer-01.img'), size); // runLab's first peer writes here
  const lab = await runLab({
    workdir: dir,
    image,
    imageSize: size,
    peers: 1,
    session: 'bench1',
    seederArgs,
    timeoutMs: 10 * 60_000,
  });
  const peer = lab.peers[0];
  if (!lab.ok || !peer || peer.imagedAfterMs === null) throw new Error(`cascade run failed; see ${dir}`);
  const assigned = await logTime(peer.logFile, 'assigned');
  const verified = await logTime(peer.logFile, 'image complete and verified');
  if (assigned === null || verified === null) throw new Error(`no "assigned" or "verified" line in ${peer.logFile}`);
  await rm(join(dir, `${peer.name}.img`), { force: true });
  const imaged = lab.startedAt + peer.imagedAfterMs;
  return { ms: imaged - assigned, flushMs: imaged - verified };
}

/** One raw-pipe run: a server process streams the file, a client process writes it. */
async function rawOnce(image: string, size: number, target: string, flags: string[] = []): Promise<Timed> {
  await residentTarget(target, size);
  const server = spawn(process.execPath, ['--import', 'tsx', RAW_PIPE, 'serve', image, '127.0.1.1'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.stdout.on('data', (d: Buffer) => {
        const m = /port (\d+)/.exec(d.toString());
        if (m) resolve(Number(m[1]));
      });
      server.on('exit', (code) => reject(new Error(`raw pipe server exited with ${code}`)));
    });
    const out = await childOutput(process.execPath, [
      '--import',
      'tsx',
      RAW_PIPE,
      'fetch',
      '127.0.1.1',
      String(port),
      target,
      String(size),
      String(4 * 2 ** 20),
      ...flags,
    ]);
    const r = JSON.parse(out) as { ms: number; syncMs: number };
    return { ms: r.ms, flushMs: r.syncMs };
  } finally {
    server.kill('SIGTERM');
    await rm(target, { force: true });
  }
}

function childOutput(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`)),
    );
  });
}
