/**
 * Bench 5 — peer memory: the peer process's RSS (VmRSS sampled every 100 ms, and VmHWM) while it
 * images a 4 GiB sparse image, against the same with a 256 MiB image: memory should be flat in
 * the image size. Half of every 64 MiB holds real (non-zero, deterministic) data, so half of the
 * slices cross the wire; the rest are holes (zero slices, skipped by design).
 *
 *   node --import tsx bench/run.ts 5 [--peer-image 4GiB] [--quick]
 */
import { join } from 'node:path';
import { exitWithin, spawnRole, startCoordinator, type RoleProcess } from '@cascade/cli';
import { progress, workdir } from './lib/cascade.js';
import type { BenchOptions } from './lib/options.js';
import { sampleMemory } from './lib/proc.js';
import { mib, ratio, type BenchResult } from './lib/report.js';
import { writeSparseImage } from './lib/sparse-image.js';

const SHARE = 0.5;
const BASELINE = 256 * 2 ** 20;
const TARGET = 64 * 2 ** 20;

interface MemoryRun {
  size: number;
  dataBytes: number;
  ms: number;
  peakRss: number;
  hwm: number;
}

export async function peerMemory(o: BenchOptions): Promise<BenchResult> {
  const size = o.size('peer-image', '4GiB', '1GiB');
  const base = await memoryOnce(BASELINE);
  const big = await memoryOnce(size);
  const row = (r: MemoryRun): string[] => [
    `${mib(r.size)} image`,
    mib(r.dataBytes),
    `${(r.ms / 1000).toFixed(1)} s`,
    mib(r.peakRss),
    mib(r.hwm),
  ];
  return {
    id: 5,
    name: 'peer memory',
    tables: [
      {
        title: `5. Peer RSS while imaging a ${mib(size)} sparse image (baseline ${mib(BASELINE)})`,
        header: ['run', 'real data', 'imaging', 'peak VmRSS', 'VmHWM'],
        rows: [
          row(big),
          row(base),
          [
            'ratio',
            ratio(big.dataBytes, base.dataBytes),
            '',
            ratio(big.peakRss, base.peakRss),
            ratio(big.hwm, base.hwm),
          ],
        ],
        notes: [
          `image: sparse file, deterministic non-zero data in ${SHARE * 100} % (the first half of every 64 MiB), holes elsewhere`,
          'one seeder and one peer on loopback, target a file; VmRSS sampled every 100 ms, VmHWM read at the last sample',
          `target: ≤ ${mib(TARGET)} for a 4 GiB image — ${big.hwm <= TARGET ? 'met' : 'NOT met'}`,
        ],
      },
    ],
    data: { share: SHARE, baseline: base, run: big },
  };
}

async function memoryOnce(size: number): Promise<MemoryRun> {
  const wd = await workdir('memory');
  const procs: RoleProcess[] = [];
  try {
    const image = join(wd.dir, 'image.img');
    progress(`bench 5: writing a ${mib(size)} sparse image`);
    const dataBytes = await writeSparseImage(image, size, SHARE);
    const coordinator = await startCoordinator(wd.dir, '127.0.1.100');
    procs.push(coordinator);
    const common = ['--coordinator', coordinator.url, '--session', 'bench5'];
    procs.push(spawnRole('seeder', ['seed', image, ...common, '--listen', '127.0.1.1:0', '--end-count', '1'], wd.dir));
    const t0 = Date.now();
    const peer = spawnRole(
      'peer',
      ['peer', ...common, '--target', join(wd.dir, 'target.img'), '--listen', '127.0.2.1:0', '--name', 'peer'],
      wd.dir,
    );
    procs.push(peer);
    progress(`bench 5: peer imaging ${mib(size)}`);
    const mem = sampleMemory(peer.proc.pid!, 100);
    const exit = await exitWithin(peer, 15 * 60_000);
    const m = mem.stop();
    if (exit !== 0) throw new Error(`peer exited with ${exit}; see ${peer.logFile}`);
    return { size, dataBytes, ms: Date.now() - t0, peakRss: m.peakRss, hwm: m.hwm };
  } finally {
    for (const p of procs) if (p.proc.exitCode === null) p.proc.kill('SIGTERM');
    await Promise.all(procs.map((p) => exitWithin(p, 5000)));
    await wd.done();
  }
}
