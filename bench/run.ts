/**
 * The benchmark suite (`npm run bench`, not part of `npm test`). Each benchmark prints a table with
 * ratios against a baseline measured in the same run; all results go to bench/results/latest.json
 * and a markdown version (for BENCHMARKS.md) to bench/results/latest.md.
 *
 *   npm run bench                      all six
 *   npm run bench -- 1 3 --quick       a subset, smaller sizes
 *   npm run bench -- 2 --size 512MiB   options: --stream-size, --size, --peers, --sim-peers, --peer-image,
 *                                      bench 2: --methods, --slow-host, --relay-capacity, --udp-bitrate (README)
 *   npm run bench -- 6 --fs ext4,ntfs --image-size 1GiB --hosts 16 --methods clonezilla,udpcast-raw,cascade
 *                                      bench 6: realistic images (bench/fs-lab.bench.ts)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { coordinatorScale } from './coordinator-scale.bench.js';
import { fsLabBench } from './fs-lab.bench.js';
import { labBench } from './lab.bench.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { BenchOptions } from './lib/options.js';
import { renderMarkdown, renderText, type BenchResult } from './lib/report.js';
import { peerMemory } from './peer-memory.bench.js';
import { simulatorBench } from './simulator.bench.js';
import { singleStream } from './single-stream.bench.js';

const BENCHES: Record<number, (o: BenchOptions) => Promise<BenchResult>> = {
  1: singleStream,
  2: labBench,
  3: coordinatorScale,
  4: simulatorBench,
  5: peerMemory,
  6: fsLabBench,
};

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { only, options } = BenchOptions.parse(argv);
  const chosen = only.length > 0 ? only : Object.keys(BENCHES).map(Number);
  const unknown = chosen.filter((n) => !BENCHES[n]);
  if (unknown.length > 0)
    throw new Error(`no benchmark ${unknown.join(', ')} (there are 1 to ${Object.keys(BENCHES).length})`);
  const machine = machineInfo();
  const command = `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`;
  process.stdout.write(`machine: ${describeMachine(machine)}\ncommand: ${command}\n\n`);
  const results: BenchResult[] = [];
  const failures: string[] = [];
  for (const n of chosen) {
    const t0 = performance.now();
    try {
      const r = await BENCHES[n]!(options);
      r.seconds = (performance.now() - t0) / 1000;
      results.push(r);
      for (const t of r.tables) process.stdout.write(`${renderText(t)}\n`);
    } catch (err) {
      failures.push(`bench ${n}: ${(err as Error).message}`);
      process.stderr.write(`bench ${n} failed: ${(err as Error).stack ?? String(err)}\n`);
    }
  }
  await mkdir(RESULTS, { recursive: true });
  const at = new Date().toISOString();
  await writeFile(`${RESULTS}latest.json`, `${JSON.stringify({ at, command, machine, results, failures }, null, 2)}\n`);
  const md = [
    `Run ${at} with \`${command}\` on ${describeMachine(machine)}.`,
    '',
    ...results.flatMap((r) => r.tables.map(renderMarkdown)),
  ].join('\n');
  await writeFile(`${RESULTS}latest.md`, md);
  process.stderr.write(`[bench] wrote ${RESULTS}latest.json and latest.md\n`);
  if (failures.length > 0) {
    process.stderr.write(`${failures.join('\n')}\n`);
    process.exitCode = 1;
  }
}

await main();
