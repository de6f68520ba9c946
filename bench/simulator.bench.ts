/**
 * Bench 4 — how fast `cascade simulate` is at scale: each scenario runs 1,000 and 100,000 peers and
 * reports the time per peer at both sizes. The ratio (100k per-peer time / 1k per-peer time) is the
 * figure to watch: near 1 means the simulator scales linearly; the 100k time must stay well under 30 s.
 *
 *   node --import tsx bench/run.ts 4 [--sim-peers 100000]
 *   node --import tsx bench/simulator.bench.ts [--sim-peers 100000]
 */
import { pathToFileURL } from 'node:url';
import { REROUTE_MAX_PEERS, simulate, type SimulationParams } from '@cascade/coordinator';
import { progress } from './lib/cascade.js';
import { BenchOptions } from './lib/options.js';
import { renderText, type BenchResult } from './lib/report.js';

const SMALL = 1_000;
const LIMIT_MS = 30_000;
const GIB8 = 8 * 2 ** 30;
// Relay scenarios fan out 3 (a tree of depth log₃ N): a single chain of 100,000 relays is quadratic in the
// scheduler's no-cycle check (canServe walks the chain), which is not what this bench measures.
const base = { seederCapacity: 2, peerCapacity: 3, relayCapacity: 3 } as const;

const scenarios: Array<[string, Omit<SimulationParams, 'peers'>]> = [
  ['fixed 20m, classic', { ...base, mode: 'classic', model: { kind: 'fixed', transferMs: 20 * 60_000 } }],
  ['fixed 20m, relay', { ...base, mode: 'relay', model: { kind: 'fixed', transferMs: 20 * 60_000 } }],
  ['8 GiB @ 1 Gbit, classic', { ...base, mode: 'classic', model: { kind: 'fluid', imageBytes: GIB8, linkBps: 125e6 } }],
  ['8 GiB @ 1 Gbit, relay', { ...base, mode: 'relay', model: { kind: 'fluid', imageBytes: GIB8, linkBps: 125e6 } }],
  [
    '8 GiB @ 1 Gbit, relay, 5% fail',
    { ...base, mode: 'relay', fail: 0.05, model: { kind: 'fluid', imageBytes: GIB8, linkBps: 125e6 } },
  ],
];

function time(params: SimulationParams): { ms: number; ratio: number; events: number } {
  const t0 = performance.now();
  const run = simulate(params);
  const ms = performance.now() - t0;
  if (!run.complete) throw new Error(`${params.mode} run with ${params.peers} peers did not finish`);
  return { ms, ratio: run.ratio, events: run.events };
}

export async function simulatorBench(o: BenchOptions): Promise<BenchResult> {
  const big = o.number('sim-peers', 100_000, 20_000);
  for (const [, p] of scenarios) time({ ...p, peers: SMALL }); // warm up the JIT
  const rows: string[][] = [];
  const data: Array<Record<string, unknown>> = [];
  let worst = 0;
  for (const [name, p] of scenarios) {
    progress(`bench 4: ${name}`);
    const small = time({ ...p, peers: SMALL });
    const large = time({ ...p, peers: big });
    worst = Math.max(worst, large.ms);
    const perSmall = (small.ms * 1000) / SMALL;
    const perBig = (large.ms * 1000) / big;
    rows.push([
      name,
      `${small.ms.toFixed(0)} ms`,
      `${large.ms.toFixed(0)} ms`,
      perSmall.toFixed(1),
      perBig.toFixed(1),
      `${(perBig / perSmall).toFixed(2)} ×`,
      large.ratio.toFixed(2),
    ]);
    data.push({ name, smallMs: small.ms, bigMs: large.ms, events: large.events, makespanOverSB: large.ratio });
  }
  const ok = worst < LIMIT_MS;
  return {
    id: 4,
    name: 'simulator',
    tables: [
      {
        title: `4. Simulator: time to simulate ${big.toLocaleString('en')} peers (baseline: ${SMALL.toLocaleString('en')} peers)`,
        header: [
          'scenario',
          `${SMALL} peers`,
          `${big} peers`,
          'µs/peer small',
          'µs/peer big',
          'ratio',
          'makespan/(S/B)',
        ],
        rows,
        notes: [
          `slowest ${big}-peer run: ${(worst / 1000).toFixed(2)} s (limit ${LIMIT_MS / 1000} s) — ${ok ? 'ok' : 'TOO SLOW'}`,
          `fluid runs feed transfer rates to the scheduler (re-routing) every 250 ms up to ${REROUTE_MAX_PEERS.toLocaleString('en')} peers: the ${SMALL}-peer runs do, larger ones do not`,
        ],
      },
    ],
    data: { peers: big, scenarios: data, worstMs: worst, ok },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await simulatorBench(BenchOptions.parse(process.argv.slice(2)).options);
  for (const t of r.tables) process.stdout.write(renderText(t));
  if (!(r.data as { ok: boolean }).ok) process.exitCode = 1;
}
