/**
 * Bench 4 — how fast `cascade simulate` is at scale: each scenario runs 1,000 and 100,000 peers and
 * reports the time per peer at both sizes. The ratio (100k per-peer time / 1k per-peer time) is the
 * figure to watch: near 1 means the simulator scales linearly; the 100k time must stay well under 30 s.
 * Table 4b runs what `cascade simulate --mode both` runs by default (its relay run is one chain of
 * every peer) at 10,000 and 100,000 peers: per-peer ratio near 1, and under 30 s at 100,000 (issue 30).
 *
 *   node --import tsx bench/run.ts 4 [--sim-peers 100000]
 *   node --import tsx bench/simulator.bench.ts [--sim-peers 100000]
 */
import { pathToFileURL } from 'node:url';
import { REROUTE_MAX_PEERS, simulate, type SimulationParams } from '@cascade/coordinator';
import { progress } from './lib/cascade.js';
import { BenchOptions } from './lib/options.js';
import { renderText, type BenchResult, type BenchTable } from './lib/report.js';

const SMALL = 1_000;
const LIMIT_MS = 30_000;
const GIB8 = 8 * 2 ** 30;
// Relay scenarios fan out 3 (a tree of depth log₃ N); table 4b runs the CLI's default, a single chain.
const base = { seederCapacity: 2, peerCapacity: 3, relayCapacity: 3 } as const;
const FIXED_20M = { kind: 'fixed', transferMs: 20 * 60_000 } as const;
/**
 * `cascade simulate --mode both` with no other flag (packages/cli/src/commands/simulate.ts): classic
 * with seeder capacity 2 and peer capacity 3; relay with seeder capacity 1 and relay capacity 1.
 */
const CLI_BOTH: Array<Omit<SimulationParams, 'peers'>> = [
  { seederCapacity: 2, peerCapacity: 3, mode: 'classic', model: FIXED_20M },
  { seederCapacity: 1, peerCapacity: 3, mode: 'relay', model: FIXED_20M },
];
const MID = 10_000;

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
  const both = cliBoth(big);
  const ok = worst < LIMIT_MS && both.bigMs < LIMIT_MS;
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
      both.table,
    ],
    data: { peers: big, scenarios: data, worstMs: worst, cliBoth: both.data, ok },
  };
}

/** Wall and CPU time (all threads: the collector's too) of one run. */
function clocked(params: SimulationParams): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const { ms } = time(params);
  const c = process.cpuUsage(c0);
  return { wall: ms, cpu: (c.user + c.system) / 1000 };
}

/**
 * Table 4b: the CLI's `--mode both` at MID and `big` peers. Its ratios are of CPU time, which the
 * other processes of a shared machine disturb less than wall time.
 */
function cliBoth(big: number): { table: BenchTable; bigMs: number; data: Record<string, unknown> } {
  progress('bench 4: cascade simulate --mode both');
  for (const p of CLI_BOTH) time({ ...p, peers: SMALL }); // warm up the JIT
  const sizes = [MID, big];
  const runs = sizes.map((peers) => {
    const [classic, relay] = CLI_BOTH.map((p) => clocked({ ...p, peers })) as [Clock, Clock];
    return { peers, classic, relay, wall: classic.wall + relay.wall, cpu: classic.cpu + relay.cpu };
  });
  const ms = (v: number): string => `${v.toFixed(0)} ms`;
  const perPeer = (r: (typeof runs)[number], cpu: number): number => (cpu * 1000) / r.peers;
  const rows = runs.map((r) => [
    `${r.peers.toLocaleString('en')} peers`,
    ms(r.classic.wall),
    ms(r.relay.wall),
    ms(r.wall),
    ms(r.cpu),
    perPeer(r, r.cpu).toFixed(1),
    `${(r.relay.cpu / r.classic.cpu).toFixed(2)} ×`,
  ]);
  const [mid, large] = runs as [(typeof runs)[number], (typeof runs)[number]];
  const growth = (pick: (r: (typeof runs)[number]) => number): string =>
    `${(perPeer(large, pick(large)) / perPeer(mid, pick(mid))).toFixed(2)} ×`;
  rows.push([
    'ratio (CPU per peer)',
    growth((r) => r.classic.cpu),
    growth((r) => r.relay.cpu),
    '',
    growth((r) => r.cpu),
    '',
    '',
  ]);
  const n = big.toLocaleString('en');
  return {
    bigMs: large.wall,
    data: { runs },
    table: {
      title: `4b. \`cascade simulate --peers N --mode both\`: ${n} peers (baseline: ${MID.toLocaleString('en')} peers)`,
      header: ['run', 'classic', 'relay', 'both', 'both CPU', 'CPU µs/peer', 'relay ÷ classic (CPU)'],
      rows,
      notes: [
        `both at ${n} peers: ${(large.wall / 1000).toFixed(2)} s (${(large.cpu / 1000).toFixed(2)} s CPU; limit ${LIMIT_MS / 1000} s) — ${large.wall < LIMIT_MS ? 'ok' : 'TOO SLOW'}`,
        "the CLI's defaults: fixed 20-minute transfers; classic seeder 2, peers 3; relay seeder 1, relay capacity 1 (one chain of every peer)",
        `ratio row: CPU time per peer at ${n} ÷ at ${MID.toLocaleString('en')}; near 1 is linear, a quadratic step shows as about ${(big / MID).toFixed(0)} ×`,
      ],
    },
  };
}

type Clock = ReturnType<typeof clocked>;

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await simulatorBench(BenchOptions.parse(process.argv.slice(2)).options);
  for (const t of r.tables) process.stdout.write(renderText(t));
  if (!(r.data as { ok: boolean }).ok) process.exitCode = 1;
}
