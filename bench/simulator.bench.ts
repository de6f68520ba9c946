/**
 * How fast `cascade simulate` is at scale: each scenario runs 1,000 and 100,000 peers and prints
 * the time per peer at both sizes. The ratio (100k per-peer time / 1k per-peer time) is the
 * figure to watch: near 1 means the simulator scales linearly; the 100k time must stay well under 30 s.
 *
 *   node --import tsx bench/simulator.bench.ts [--peers 100000]
 */
import { simulate, type SimulationParams } from '../packages/coordinator/src/simulator/index.js';

const BIG = Number(process.argv[process.argv.indexOf('--peers') + 1]) || 100_000;
const SMALL = 1_000;
const LIMIT_MS = 30_000;

const scenarios: Array<[string, Omit<SimulationParams, 'peers'>]> = [
  [
    'fixed 20m, classic',
    { seederCapacity: 2, peerCapacity: 3, mode: 'classic', model: { kind: 'fixed', transferMs: 20 * 60_000 } },
  ],
  [
    'fixed 20m, relay',
    { seederCapacity: 2, peerCapacity: 3, mode: 'relay', model: { kind: 'fixed', transferMs: 20 * 60_000 } },
  ],
  [
    '8 GiB @ 1 Gbit, classic',
    {
      seederCapacity: 2,
      peerCapacity: 3,
      mode: 'classic',
      model: { kind: 'fluid', imageBytes: 8 * 2 ** 30, linkBps: 125e6 },
    },
  ],
  [
    '8 GiB @ 1 Gbit, relay',
    {
      seederCapacity: 2,
      peerCapacity: 3,
      mode: 'relay',
      model: { kind: 'fluid', imageBytes: 8 * 2 ** 30, linkBps: 125e6 },
    },
  ],
  [
    '8 GiB @ 1 Gbit, relay, 5% fail',
    {
      seederCapacity: 2,
      peerCapacity: 3,
      mode: 'relay',
      fail: 0.05,
      model: { kind: 'fluid', imageBytes: 8 * 2 ** 30, linkBps: 125e6 },
    },
  ],
];

function time(params: SimulationParams): { ms: number; ratio: number; events: number } {
  const t0 = performance.now();
  const run = simulate(params);
  const ms = performance.now() - t0;
  if (!run.complete) throw new Error(`${params.mode} run with ${params.peers} peers did not finish`);
  return { ms, ratio: run.ratio, events: run.events };
}

function main(): void {
  for (const [, p] of scenarios) time({ ...p, peers: SMALL }); // warm up the JIT
  const rows: string[][] = [
    ['scenario', `${SMALL} peers`, `${BIG} peers`, 'µs/peer small', 'µs/peer big', 'ratio', 'makespan/(S/B)'],
  ];
  let worst = 0;
  for (const [name, p] of scenarios) {
    const small = time({ ...p, peers: SMALL });
    const big = time({ ...p, peers: BIG });
    worst = Math.max(worst, big.ms);
    const perSmall = (small.ms * 1000) / SMALL;
    const perBig = (big.ms * 1000) / BIG;
    rows.push([
      name,
      `${small.ms.toFixed(0)} ms`,
      `${big.ms.toFixed(0)} ms`,
      perSmall.toFixed(1),
      perBig.toFixed(1),
      `${(perBig / perSmall).toFixed(2)} ×`,
      big.ratio.toFixed(2),
    ]);
  }
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  for (const r of rows)
    process.stdout.write(
      `${r.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ')}\n`,
    );
  process.stdout.write(
    `\nslowest ${BIG}-peer run: ${(worst / 1000).toFixed(2)} s (limit ${LIMIT_MS / 1000} s) — ${worst < LIMIT_MS ? 'ok' : 'TOO SLOW'}\n`,
  );
  if (worst >= LIMIT_MS) process.exitCode = 1;
}

main();
