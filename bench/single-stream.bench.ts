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
  rawMd5: number[];
}

/** RUNS rounds of MD5, sha256 and raw, interleaved. */
async function streamRounds(image: string, size: number, dir: string): Promise<Runs> {
  const runs: Runs = { md5: [], sha256: [], raw: [], rawMd5: [] };
  for (let r = 1; r <= RUNS; r++) {
    progress(`bench 1: run ${r}/${RUNS} — cascade seeder → peer (MD5)`);
    runs.md5.push(await cascadeOnce(image, size, join(dir, `md5-${r}`), []));
    progress(`bench 1: run ${r}/${RUNS} — cascade seeder → peer (sha256)`);
    // Its own manifest cache, so the MD5 one beside the image stays (the startup runs use it).
    const sha = ['--digest', 'sha256', '--cache-dir', join(dir, 'sha256-cache')];
    runs.sha256.push(await cascadeOnce(image, size, join(dir, `sha256-${r}`), sha));
    progress(`bench 1: run ${r}/${RUNS} — raw TCP pipe`);
    runs.raw.push(await rawOnce(image, size, join(dir, `raw-${r}.img`)));
    progress(`bench 1: run ${r}/${RUNS} — raw TCP pipe + MD5 inline (what hashing alone costs here)`);
    runs.rawMd5.push(await rawOnce(image, size, join(dir, `raw-md5-${r}.img`), true));
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
    const best = {
      md5: Math.min(...runs.md5),
      sha256: Math.min(...runs.sha256),
      raw: Math.min(...runs.raw),
      rawMd5: Math.min(...runs.rawMd5),
    };
    const rate = {
      md5: mbPerS(size, best.md5),
      sha256: mbPerS(size, best.sha256),
      raw: mbPerS(size, best.raw),
      rawMd5: mbPerS(size, best.rawMd5),
    };
    const first = Math.min(...startup.map((s) => s.firstSliceMs));
    const bestStart = startup.find((s) => s.firstSliceMs === first) ?? startup[0]!;
    const row = (name: string, ms: number, r: number): string[] => [name, secs(ms), r.toFixed(0), ratio(r, rate.raw)];
    return {
      id: 1,
      name: 'single stream',
      tables: [
        {
          title: `1. Single stream on loopback (${mib(size)}, best of ${RUNS})`,
          header: ['path', 'time', 'MB/s', 'vs raw pipe'],
          rows: [
            row('cascade seeder → peer (MD5 verified)', best.md5, rate.md5),
            row('cascade seeder → peer (sha256 verified)', best.sha256, rate.sha256),
            ['raw TCP pipe (baseline, no hashing)', secs(best.raw), rate.raw.toFixed(0), '1.00 ×'],
            row('raw TCP pipe + MD5 of every 4 MiB (inline, no framing)', best.rawMd5, rate.rawMd5),
            ['seeder start → first slice at a waiting peer', secs(first), '', ''],
          ],
          notes: [
            'cascade: from the peer\'s "assigned" log line to its image verified and fsynced; raw: connect to last write fsynced',
            "every path writes into a target file already the image's size, its pages written just before the run (as a peer writes onto an existing disk): this VM takes freed memory back within ~2 s, and writing into such memory made a run's time depend on the pause before it",
            `all runs (ms): MD5 ${list(runs.md5)}; sha256 ${list(runs.sha256)}; raw ${list(runs.raw)}; raw + MD5 ${list(runs.rawMd5)}`,
            'raw + MD5: the raw pipe whose receiver also hashes each 4 MiB before writing it (not overlapped): what MD5 alone costs on this machine (both raw rows write 4 MiB at a time, as cascade writes its default slices)',
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
      },
    };
  } finally {
    await wd.done();
  }
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
async function cascadeOnce(image: string, size: number, dir: string, seederArgs: string[]): Promise<number> {
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
  if (assigned === null) throw new Error(`no "assigned" line in ${peer.logFile}`);
  await rm(join(dir, `${peer.name}.img`), { force: true });
  return lab.startedAt + peer.imagedAfterMs - assigned;
}

/** One raw-pipe run: a server process streams the file, a client process writes it. */
async function rawOnce(image: string, size: number, target: string, md5 = false): Promise<number> {
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
      ...(md5 ? ['md5'] : []),
    ]);
    return (JSON.parse(out) as { ms: number }).ms;
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
