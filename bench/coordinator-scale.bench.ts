/**
 * Bench 3 — coordinator scale: a real coordinator process, PEERS light clients (a separate driver
 * process speaking the real protocol) connected at once; pairing latency from `want` to `assign`
 * (p50/p99) and the coordinator's RSS. Baseline: the same with 100 peers.
 *
 *   node --import tsx bench/run.ts 3 [--peers 10000] [--want-rate 1000]
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exitWithin, startCoordinator } from '@cascade/cli';
import { progress, workdir } from './lib/cascade.js';
import type { BenchOptions } from './lib/options.js';
import { memoryOf, sampleMemory } from './lib/proc.js';
import { mib, percentile, ratio, type BenchResult } from './lib/report.js';

const DRIVER = fileURLToPath(new URL('./lib/light-driver.ts', import.meta.url));
const BASELINE_PEERS = 100;
const TARGET_P99_MS = 50;

interface ScaleRun {
  peers: number;
  connectMs: number;
  spanMs: number;
  p50: number;
  p99: number;
  max: number;
  rssConnected: number;
  rssPeak: number;
}

export async function coordinatorScale(o: BenchOptions): Promise<BenchResult> {
  const peers = o.number('peers', 10_000, 2_000);
  const rate = o.number('want-rate', 1000, 1000);
  const base = await scaleOnce(BASELINE_PEERS, rate);
  const big = await scaleOnce(peers, rate);
  const row = (r: ScaleRun): string[] => [
    `${r.peers.toLocaleString('en')} peers`,
    `${(r.connectMs / 1000).toFixed(1)} s`,
    `${r.p50.toFixed(1)} ms`,
    `${r.p99.toFixed(1)} ms`,
    `${r.max.toFixed(1)} ms`,
    mib(r.rssConnected),
    mib(r.rssPeak),
  ];
  return {
    id: 3,
    name: 'coordinator scale',
    tables: [
      {
        title: `3. Coordinator scale: ${peers.toLocaleString('en')} concurrent ws peers (baseline ${BASELINE_PEERS})`,
        header: ['run', 'connect all', 'pairing p50', 'pairing p99', 'max', 'RSS connected', 'RSS peak'],
        rows: [
          row(big),
          row(base),
          [
            'ratio',
            '',
            ratio(big.p50, base.p50),
            ratio(big.p99, base.p99),
            ratio(big.max, base.max),
            ratio(big.rssConnected, base.rssConnected),
            ratio(big.rssPeak, base.rssPeak),
          ],
        ],
        notes: [
          `pairing latency: from a client's want sent to its assign received; wants sent at ${rate}/s once every client is connected`,
          `light clients: one driver process, ≤ 250 per source address (127.0.10.1 …), ≤ 128 handshakes in flight; servers: ⌈peers/1000⌉ with capacity 1000`,
          `coordinator at its default log level (info, JSON to a file); RSS from /proc/PID/status (VmRSS), peak sampled every 100 ms`,
          `target: p99 < ${TARGET_P99_MS} ms with 10,000 peers — ${big.p99 < TARGET_P99_MS ? 'met' : 'NOT met'} (${big.p99.toFixed(1)} ms)`,
        ],
      },
    ],
    data: { rate, baseline: base, run: big },
  };
}

async function scaleOnce(peers: number, rate: number): Promise<ScaleRun> {
  progress(`bench 3: coordinator with ${peers} light peers`);
  const wd = await workdir('scale');
  const coordinator = await startCoordinator(wd.dir, '127.0.1.100');
  const mem = sampleMemory(coordinator.proc.pid!, 100);
  try {
    let rssConnected = 0;
    const lines: Array<Record<string, unknown>> = [];
    const driver = spawn(process.execPath, ['--import', 'tsx', DRIVER, coordinator.url, String(peers), String(rate)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    driver.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
        buf = buf.slice(nl + 1);
        if (line.event === 'connected') rssConnected = memoryOf(coordinator.proc.pid!)?.rss ?? 0;
        lines.push(line);
      }
    });
    const code = await new Promise<number>((resolve) => driver.on('exit', (c) => resolve(c ?? 1)));
    const done = lines.find((l) => l.event === 'done') as
      { connectMs: number; spanMs: number; latencies: number[] } | undefined;
    if (code !== 0 || !done)
      throw new Error(`light-client driver exited with ${code}; coordinator log ${coordinator.logFile}`);
    const { peakRss } = mem.stop();
    return {
      peers,
      connectMs: done.connectMs,
      spanMs: done.spanMs,
      p50: percentile(done.latencies, 50),
      p99: percentile(done.latencies, 99),
      max: Math.max(...done.latencies),
      rssConnected,
      rssPeak: peakRss,
    };
  } finally {
    mem.stop();
    coordinator.proc.kill('SIGTERM');
    await exitWithin(coordinator, 5000);
    await wd.done();
  }
}
