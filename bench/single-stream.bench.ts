/**
 * Bench 1 — one stream on loopback: seeder → one peer (framing, MD5 per slice, positional writes,
 * fsync) against a raw TCP pipe of the same bytes into the same kind of target (no framing, no
 * hashing). Each side runs twice; the best run of each is reported.
 *
 *   node --import tsx bench/run.ts 1 [--stream-size 1GiB] [--quick]
 */
import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLab, writeImage } from '@cascade/cli';
import { logTime, progress, workdir } from './lib/cascade.js';
import type { BenchOptions } from './lib/options.js';
import { mbPerS, mib, ratio, type BenchResult } from './lib/report.js';

const RAW_PIPE = fileURLToPath(new URL('./lib/raw-pipe.ts', import.meta.url));
const RUNS = 2;

export async function singleStream(o: BenchOptions): Promise<BenchResult> {
  const size = o.size('stream-size', '1GiB', '256MiB');
  const wd = await workdir('stream');
  try {
    const image = join(wd.dir, 'image.img');
    progress(`bench 1: writing a ${mib(size)} image (no zero slices)`);
    await writeImage(image, { size, zeros: [] });
    const cascadeMs: number[] = [];
    const rawMs: number[] = [];
    for (let r = 1; r <= RUNS; r++) {
      progress(`bench 1: run ${r}/${RUNS} — cascade seeder → peer`);
      cascadeMs.push(await cascadeOnce(image, size, join(wd.dir, `cascade-${r}`)));
      progress(`bench 1: run ${r}/${RUNS} — raw TCP pipe`);
      rawMs.push(await rawOnce(image, size, join(wd.dir, `raw-${r}.img`)));
    }
    const c = Math.min(...cascadeMs);
    const raw = Math.min(...rawMs);
    const cRate = mbPerS(size, c);
    const rRate = mbPerS(size, raw);
    return {
      id: 1,
      name: 'single stream',
      tables: [
        {
          title: `1. Single stream on loopback (${mib(size)}, best of ${RUNS})`,
          header: ['path', 'time', 'MB/s', 'vs raw pipe'],
          rows: [
            [
              'cascade seeder → peer (MD5 verified)',
              `${(c / 1000).toFixed(2)} s`,
              cRate.toFixed(0),
              ratio(cRate, rRate),
            ],
            ['raw TCP pipe (baseline, no hashing)', `${(raw / 1000).toFixed(2)} s`, rRate.toFixed(0), '1.00 ×'],
          ],
          notes: [
            'cascade: from the peer\'s "assigned" log line to its image verified and fsynced; raw: connect to last write fsynced',
            `all runs (ms): cascade ${cascadeMs.map((x) => x.toFixed(0)).join(', ')}; raw ${rawMs.map((x) => x.toFixed(0)).join(', ')}`,
            'target: ≥ 0.85 × of the raw pipe',
          ],
        },
      ],
      data: { size, cascadeMs, rawMs, cascadeMBps: cRate, rawMBps: rRate, ratio: cRate / rRate },
    };
  } finally {
    await wd.done();
  }
}

/** One cascade run with one peer; ms from assignment to image complete (verified, synced). */
async function cascadeOnce(image: string, size: number, dir: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  const lab = await runLab({
    workdir: dir,
    image,
    imageSize: size,
    peers: 1,
    session: 'bench1',
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
async function rawOnce(image: string, size: number, target: string): Promise<number> {
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
