/**
 * Bench 2 — a lab of 16 hosts on shaped links: network namespaces + veth on a bridge, HTB at
 * 100 Mbit/s each way per host (root needed; otherwise `--rate 100Mbit` caps on 127.0.x.y).
 * Makespan of cascade classic and relay as a multiple of S/B, next to an HTTP fan-out and an aria2c
 * BitTorrent swarm on the same lab, and the simulator's prediction; whole-machine CPU per run.
 *
 *   node --import tsx bench/run.ts 2 [--size 256MiB] [--hosts 16] [--relay-capacity 1,1] [--quick]
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { peerAddress, writeImage } from '@cascade/cli';
import { simulate } from '@cascade/coordinator';
import { runSwarm } from './lab/bittorrent.js';
import { runCascadeLab, type LabRun } from './lab/cascade-lab.js';
import { stopAll } from './lab/children.js';
import { runFanout, startFileServer } from './lab/http-fanout.js';
import { canBuildNamespaces, NetLab, type LabHost } from './lab/netns.js';
import { progress, RELAY_MISSING, relaySupported, workdir } from './lib/cascade.js';
import type { BenchOptions } from './lib/options.js';
import { CpuSampler, percent } from './lib/proc.js';
import { mib, ratio, seconds, type BenchResult, type BenchTable } from './lib/report.js';

const MBIT = 100;
const CLASSIC = { seeder: 2, peer: 3 };

interface Measured {
  name: string;
  run: LabRun | null;
  cpu: { avg: number; peak: number } | null;
  predicted?: number;
  skipped?: string;
}

async function measure(name: string, fn: () => Promise<LabRun>): Promise<Measured> {
  progress(`bench 2: ${name}`);
  const cpu = new CpuSampler();
  cpu.start();
  const run = await fn();
  const used = cpu.stop();
  progress(`bench 2: ${name}: ${seconds(run.makespanMs)}${run.ok ? '' : ` — problems: ${run.problems.join('; ')}`}`);
  return { name, run, cpu: used };
}

function hasAria2(): boolean {
  return !spawnSync('aria2c', ['--version'], { stdio: 'ignore' }).error;
}

function loopbackHosts(n: number): LabHost[] {
  const h0: LabHost = { index: 0, ns: '', addr: '127.0.1.1', exec: [] };
  return [h0, ...Array.from({ length: n }, (_, i) => ({ index: i + 1, ns: '', addr: peerAddress(i + 1), exec: [] }))];
}

function predict(
  size: number,
  peers: number,
  mode: 'classic' | 'relay',
  caps: { seeder: number; peer: number },
): number {
  const r = simulate({
    peers,
    seederCapacity: caps.seeder,
    peerCapacity: caps.peer,
    mode,
    model: { kind: 'fluid', imageBytes: size, linkBps: (MBIT * 1e6) / 8 },
  });
  return r.ratio;
}

interface LabSetup {
  size: number;
  n: number;
  relayCaps: { seeder: number; peer: number };
  shaped: boolean;
  sbMs: number;
  timeoutMs: number;
  /** Which rows to run (`--methods link,classic,relay,http,swarm`; default all). */
  methods: Set<string>;
  /** `--seed-args "--slice 512KiB --digest sha256"`: extra seeder arguments for both cascade rows. */
  seederExtra: string[];
}

const METHODS = ['link', 'classic', 'relay', 'http', 'swarm'];

function setup(o: BenchOptions): LabSetup {
  const size = o.size('size', '256MiB', '64MiB');
  const [seeder, peer] = o.string('relay-capacity', '1,1').split(',').map(Number) as [number, number];
  const sbMs = ((size * 8) / (MBIT * 1e6)) * 1000;
  return {
    size,
    n: o.number('hosts', 16, 16),
    relayCaps: { seeder, peer },
    shaped: canBuildNamespaces() && !o.has('no-netns'),
    sbMs,
    timeoutMs: Math.max(10 * 60_000, 40 * sbMs),
    methods: new Set(o.string('methods', METHODS.join(',')).split(',')),
    seederExtra: o.string('seed-args', '').split(' ').filter(Boolean),
  };
}

export async function labBench(o: BenchOptions): Promise<BenchResult> {
  const s = setup(o);
  const wd = await workdir('lab');
  let lab: NetLab | null = null;
  let results: Measured[];
  try {
    const image = join(wd.dir, 'image.img');
    progress(`bench 2: writing a ${mib(s.size)} image`);
    await writeImage(image, { size: s.size, zeros: [] });
    if (s.shaped) {
      progress(`bench 2: building ${s.n + 1} namespaces with ${MBIT} Mbit/s HTB each way`);
      lab = await NetLab.create(s.n + 1, MBIT);
    }
    results = await runMethods(s, lab?.hosts ?? loopbackHosts(s.n), image, wd.dir);
  } finally {
    await lab?.destroy();
    await wd.done();
  }
  return {
    id: 2,
    name: 'lab',
    tables: [labTable(s, results)],
    data: {
      size: s.size,
      hosts: s.n,
      shaped: s.shaped,
      sbMs: s.sbMs,
      runs: results.map((r) => ({
        name: r.name,
        makespanMs: r.run?.makespanMs ?? null,
        ok: r.run?.ok ?? null,
        cpu: r.cpu,
        predicted: r.predicted ?? null,
        skipped: r.skipped ?? null,
      })),
    },
  };
}

/** Every method on the same lab, one after the other: link check, classic, relay, HTTP fan-out, swarm. */
async function runMethods(s: LabSetup, hosts: LabHost[], image: string, dir: string): Promise<Measured[]> {
  const { size, n, timeoutMs } = s;
  const results: Measured[] = [];
  const server = await startFileServer(hosts[0]!, image, dir, s.shaped ? undefined : (MBIT * 1e6) / 8);
  const extra = s.shaped ? [] : ['--rate', `${MBIT}Mbit`];
  const cascade = (relay: boolean, caps: { seeder: number; peer: number }) => () =>
    runCascadeLab({
      hosts,
      image,
      size,
      relay,
      seederCapacity: caps.seeder,
      peerCapacity: caps.peer,
      workdir: dir,
      extra,
      seederExtra: s.seederExtra,
      timeoutMs,
    });
  try {
    const one = hosts.slice(1, 2);
    const want = (m: string): boolean => s.methods.has(m);
    if (want('link'))
      results.push(
        await measure('one HTTP download (link check)', () => runFanout(one, server.url, size, dir, timeoutMs)),
      );
    if (want('classic')) {
      const classic = await measure('cascade classic', cascade(false, CLASSIC));
      results.push({ ...classic, predicted: predict(size, n, 'classic', CLASSIC) });
    }
    const relayPredicted = predict(size, n, 'relay', s.relayCaps);
    if (!want('relay')) {
      // not asked for
    } else if (await relaySupported())
      results.push({ ...(await measure('cascade relay', cascade(true, s.relayCaps))), predicted: relayPredicted });
    else
      results.push({ name: 'cascade relay', run: null, cpu: null, predicted: relayPredicted, skipped: RELAY_MISSING });
    const all = hosts.slice(1);
    if (want('http'))
      results.push(
        await measure(`HTTP fan-out (${n} concurrent downloads)`, () =>
          runFanout(all, server.url, size, dir, timeoutMs),
        ),
      );
    const btSkip = !s.shaped
      ? 'BitTorrent: skipped (needs the namespace lab; run as root)'
      : !hasAria2()
        ? 'BitTorrent: skipped — aria2c is not on PATH (apt-get install aria2)'
        : null;
    if (!want('swarm')) {
      // not asked for
    } else if (btSkip) results.push({ name: 'BitTorrent swarm (aria2c)', run: null, cpu: null, skipped: btSkip });
    else
      results.push(
        await measure('BitTorrent swarm (aria2c)', () => runSwarm(hosts, image, size, server, dir, timeoutMs)),
      );
  } finally {
    await stopAll([server.child]);
  }
  return results;
}

function labTable(s: LabSetup, results: Measured[]): BenchTable {
  const { size, n, sbMs, relayCaps } = s;
  const notes = [
    s.shaped
      ? `lab: ${n + 1} network namespaces, veth into a bridge (own namespace), HTB ${MBIT} Mbit/s on both ends of every veth`
      : `no namespaces (not root, or --no-netns) — fallback: loopback 127.0.x.y, every server capped with --rate ${MBIT}Mbit (uplinks only; downlinks unshaped)`,
    `S/B = ${mib(size)} × 8 / ${MBIT} Mbit/s = ${seconds(sbMs)}; makespan from the session's start (all ${n} peers waiting) to the last image verified; baselines from launch to last download done`,
    `classic: seeder capacity ${CLASSIC.seeder}, peer capacity ${CLASSIC.peer} (DESIGN defaults); relay: seeder ${relayCaps.seeder}, peer ${relayCaps.peer}`,
    'simulator: fluid model (max-min fair uplinks), same image, link rate and capacities',
    'CPU: busy share of the whole machine (all cores, /proc/stat), average over the run and peak 1 s sample',
  ];
  for (const r of results) {
    if (r.skipped) notes.push(r.skipped);
    if (r.run && !r.run.ok) notes.push(`${r.name}: ${r.run.problems.join('; ')}`);
  }
  const fanout = results.find((r) => r.name.startsWith('HTTP fan-out'))?.run?.makespanMs ?? NaN;
  const rows = results.map((r) => [
    r.name,
    r.run ? seconds(r.run.makespanMs) : '—',
    r.run ? (r.run.makespanMs / sbMs).toFixed(2) : 'n/a',
    r.predicted === undefined ? '' : r.predicted.toFixed(2),
    r.run ? ratio(fanout, r.run.makespanMs) : '',
    r.cpu ? percent(r.cpu.avg) : '',
    r.cpu ? percent(r.cpu.peak) : '',
    r.run ? (r.run.ok ? 'ok' : 'FAILED') : 'skipped',
  ]);
  return {
    title: `2. Lab of ${n} hosts at ${MBIT} Mbit/s (${mib(size)} image, S/B = ${seconds(sbMs)})`,
    header: ['method', 'makespan', '× S/B', 'simulator × S/B', 'speed-up vs HTTP', 'CPU avg', 'CPU peak', 'result'],
    rows,
    notes,
  };
}
