/**
 * Bench 2 — a lab of 16 hosts on shaped links: network namespaces + veth on a bridge, HTB at
 * 100 Mbit/s each way per host (root needed; otherwise `--rate 100Mbit` caps on 127.0.x.y).
 * In one run: the makespan of cascade classic and of `cascade seed --relay` with its defaults as a
 * multiple of S/B, next to udpcast multicast and an aria2c BitTorrent swarm on the same lab; the
 * relay run again with a mid-chain relay SIGKILLed; then the same lab with one receiver at
 * 25 Mbit/s (relay, udpcast, swarm). The simulator's prediction beside every cascade row.
 *
 * Every host's TCP is a stock lab machine's (cubic, or reno where this kernel lets a namespace pick
 * only reno or bbr; `--lab-tcp NAME|machine` overrides); `relay-machine-tcp` runs the relay row
 * once more on this machine's own congestion control when that differs (bbr here).
 *
 *   npm run bench -- 2 [--size 256MiB] [--hosts 16] [--methods link,classic,relay,udpcast,swarm,kill,http,relay-machine-tcp]
 *                      [--slow-host 25Mbit | --slow-host off] [--relay-capacity S,P] [--udp-bitrate 95m]
 *                      [--lab-tcp cubic|reno|bbr|machine]
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { peerAddress, writeImage } from '@cascade/cli';
import { parseRate, parseSize } from '@cascade/common';
import { runSwarm } from './lab/bittorrent.js';
import { runCascadeLab, type LabRun } from './lab/cascade-lab.js';
import { stopAll } from './lab/children.js';
import { runFanout, startFileServer } from './lab/http-fanout.js';
import { canBuildNamespaces, machineTcp, NetLab, type LabHost } from './lab/netns.js';
import { predict, predictSlowHost, type PredictInput } from './lab/predict.js';
import { labTable, slowTable, type Row, type TableSetup } from './lab/tables.js';
import { runUdpcast, udpcastMissing } from './lab/udpcast.js';
import { prepareManifests, progress, RELAY_MISSING, relaySupported, workdir } from './lib/cascade.js';
import type { BenchOptions } from './lib/options.js';
import { CpuSampler } from './lib/proc.js';
import { mib, seconds, type BenchResult } from './lib/report.js';

const MBIT = 100;
const CLASSIC = { seeder: 2, peer: 3 };
const METHODS = ['link', 'classic', 'relay', 'udpcast', 'swarm', 'http', 'kill', 'relay-machine-tcp'];
const DEFAULT_METHODS = 'link,classic,relay,udpcast,swarm,kill,relay-machine-tcp';
/** The slow-host variant runs these (those of them --methods keeps). */
const SLOW_METHODS = new Set(['relay', 'udpcast', 'swarm']);
/** The kill row strikes once the peers hold this share of the image on average. */
const KILL_AT = 0.4;
/** The slow receiver (its peer joins first). */
const SLOW_INDEX = 1;

interface LabSetup extends TableSetup {
  timeoutMs: number;
  methods: Set<string>;
  seederExtra: string[];
  /** `--relay-capacity S,P`: seeder --capacity S, peers --relay-capacity P; null: the defaults. */
  relayOverride: { seeder: number; peer: number } | null;
  /** `--slow-host 25Mbit`; null: `--slow-host off`. */
  slowMbit: number | null;
  /** `--lab-tcp`: the hosts' congestion control ('lab': a stock machine's; see NetLab.setTcp). */
  labTcpChoice: string;
}

function setup(o: BenchOptions): LabSetup {
  const size = o.size('size', '256MiB', '64MiB');
  const override = o.has('relay-capacity') ? o.string('relay-capacity', '').split(',').map(Number) : null;
  if (override && !(override.length === 2 && override.every((x) => Number.isInteger(x) && x >= 0)))
    throw new Error('--relay-capacity takes S,P (seeder capacity, peer relay capacity), e.g. 1,1');
  const methods = new Set(o.string('methods', DEFAULT_METHODS).split(',').filter(Boolean));
  const bad = [...methods].filter((m) => !METHODS.includes(m));
  if (bad.length > 0) throw new Error(`--methods: unknown ${bad.join(', ')} (known: ${METHODS.join(', ')})`);
  const slow = o.string('slow-host', '25Mbit');
  const n = o.number('hosts', 16, 16);
  const relayOverride = override ? { seeder: override[0]!, peer: override[1]! } : null;
  return {
    size,
    n,
    mbit: MBIT,
    sbMs: ((size * 8) / (MBIT * 1e6)) * 1000,
    shaped: canBuildNamespaces() && !o.has('no-netns'),
    timeoutMs: Math.max(5 * 60_000, ((size * 8) / 1e6) * 1000), // ≥ the image at 1 Mbit/s
    methods,
    seederExtra: o.string('seed-args', '').split(' ').filter(Boolean),
    relayOverride,
    slowMbit: /^(off|none|0)$/i.test(slow) ? null : (parseRate(slow) * 8) / 1e6,
    udpBitrate: o.string('udp-bitrate', '95m'),
    inMemory: false,
    labTcpChoice: o.string('lab-tcp', 'lab'),
    labTcp: null,
    machineTcp: machineTcp(),
    relayNote: relayOverride
      ? `relay: \`--relay\` with seeder --capacity ${relayOverride.seeder}, peer --relay-capacity ${relayOverride.peer} (--relay-capacity override)`
      : 'relay: `cascade seed IMAGE --relay` with every other setting default (no capacity flags on seeder or peers)',
  };
}

/** Run one row, timing CPU; an exception becomes a FAILED row with its message. */
async function measure(name: string, fn: () => Promise<LabRun>): Promise<Row> {
  progress(`bench 2: ${name}`);
  const cpu = new CpuSampler();
  cpu.start();
  try {
    const run = await fn();
    const why = run.ok ? '' : ` — problems: ${run.problems.join('; ')}`;
    progress(`bench 2: ${name}: ${seconds(run.makespanMs)}${why}`);
    return { name, run, cpu: cpu.stop() };
  } catch (err) {
    cpu.stop();
    progress(`bench 2: ${name}: FAILED — ${(err as Error).message}`);
    return { name, run: null, cpu: null, error: (err as Error).message };
  }
}

function hasAria2(): boolean {
  return !spawnSync('aria2c', ['--version'], { stdio: 'ignore' }).error;
}

function loopbackHosts(n: number): LabHost[] {
  const h0: LabHost = { index: 0, ns: '', addr: '127.0.1.1', exec: [] };
  return [h0, ...Array.from({ length: n }, (_, i) => ({ index: i + 1, ns: '', addr: peerAddress(i + 1), exec: [] }))];
}

export async function labBench(o: BenchOptions): Promise<BenchResult> {
  const s = setup(o);
  // tmpfs: every host's target is a file in memory, as if each host had its own disk.
  const wd = await workdir('lab', (s.n + 2) * s.size + 512 * 2 ** 20);
  s.inMemory = wd.inMemory;
  let lab: NetLab | null = null;
  const rows: Row[] = [];
  const slowRows: Row[] = [];
  try {
    const image = join(wd.dir, 'image.img');
    progress(`bench 2: writing a ${mib(s.size)} image under ${wd.dir}`);
    await writeImage(image, { size: s.size, zeros: [] });
    await prepareManifests(image, s.seederExtra);
    if (s.shaped) {
      progress(`bench 2: building ${s.n + 1} namespaces with ${MBIT} Mbit/s HTB each way`);
      lab = await NetLab.create(s.n + 1, MBIT, s.labTcpChoice);
      s.labTcp = lab.tcp;
      progress(`bench 2: the lab's hosts use TCP ${lab.tcp} (this machine: ${s.machineTcp ?? 'unknown'})`);
    }
    const hosts = lab?.hosts ?? loopbackHosts(s.n);
    rows.push(...(await runMethods(s, hosts, image, wd.dir, null, lab)));
    if (s.slowMbit !== null && [...s.methods].some((m) => SLOW_METHODS.has(m))) {
      if (!lab) progress('bench 2: slow-host variant skipped (needs the namespace lab: root, no --no-netns)');
      else {
        progress(`bench 2: host ${SLOW_INDEX} slowed to ${s.slowMbit} Mbit/s both ways`);
        await lab.setRate(SLOW_INDEX, s.slowMbit);
        slowRows.push(...(await runMethods(s, hosts, image, wd.dir, { index: SLOW_INDEX, mbit: s.slowMbit }, lab)));
        await lab.setRate(SLOW_INDEX, MBIT);
      }
    }
  } finally {
    await lab?.destroy();
    await wd.done();
  }
  const tables = [labTable(s, rows)];
  if (slowRows.length > 0) tables.push(slowTable(s, { index: SLOW_INDEX, mbit: s.slowMbit! }, slowRows));
  return { id: 2, name: 'lab', tables, data: resultData(s, rows, slowRows) };
}

function resultData(s: LabSetup, rows: Row[], slowRows: Row[]): Record<string, unknown> {
  const raw = (r: Row): Record<string, unknown> => ({
    name: r.name,
    makespanMs: r.run?.makespanMs ?? null,
    doneAfterMs: r.run ? Object.fromEntries([...r.run.doneAt].map(([h, t]) => [h, t - r.run!.t0])) : null,
    ok: r.run?.ok ?? null,
    problems: r.run?.problems ?? null,
    cpu: r.cpu,
    predicted: r.predicted ?? null,
    predictedSlow: r.predictedSlow ?? null,
    killed: r.run?.killed ?? null,
    seederCapacity: r.run?.seederCapacity ?? null,
    skipped: r.skipped ?? null,
    error: r.error ?? null,
  });
  const slow = s.slowMbit === null ? null : { host: SLOW_INDEX, mbit: s.slowMbit, runs: slowRows.map(raw) };
  const tcp = { lab: s.labTcp, machine: s.machineTcp };
  return { size: s.size, hosts: s.n, shaped: s.shaped, sbMs: s.sbMs, tcp, runs: rows.map(raw), slow };
}

/** What the simulator is told about a cascade row (the seeder's capacity as the coordinator listed it). */
function simInput(s: LabSetup, relay: boolean, run: LabRun | null): PredictInput {
  const slice = /--slice[= ](\S+)/.exec(s.seederExtra.join(' '))?.[1];
  const relayCaps = { seeder: run?.seederCapacity ?? s.relayOverride?.seeder ?? 1, peer: s.relayOverride?.peer ?? 1 };
  const caps = relay ? relayCaps : CLASSIC;
  return {
    size: s.size,
    peers: s.n,
    mode: relay ? 'relay' : 'classic',
    seederCapacity: caps.seeder,
    peerCapacity: caps.peer,
    sliceBytes: slice ? parseSize(slice) : relay ? 2 ** 20 : 4 * 2 ** 20,
    mbit: MBIT,
  };
}

/**
 * Every chosen method on the same lab, one after the other. `slow` set: the slow-host variant
 * (relay, udpcast and swarm only; the slow host's peer joins first).
 */
async function runMethods(
  s: LabSetup,
  hosts: LabHost[],
  image: string,
  dir: string,
  slow: { index: number; mbit: number } | null,
  lab: NetLab | null,
): Promise<Row[]> {
  const rows: Row[] = [];
  const want = (m: string): boolean => s.methods.has(m) && (!slow || SLOW_METHODS.has(m));
  const tag = slow ? 'slow' : 'lab';
  const server = await startFileServer(hosts[0]!, image, dir, s.shaped ? undefined : (MBIT * 1e6) / 8);
  const cascade = (label: string, relay: boolean, killAt?: number) => () =>
    runCascadeLab({
      label: `${tag}-${label}`,
      hosts,
      image,
      size: s.size,
      relay,
      seederArgs: [
        ...(relay && s.relayOverride ? ['--capacity', String(s.relayOverride.seeder)] : []),
        ...s.seederExtra,
      ],
      peerArgs: relay && s.relayOverride ? ['--relay-capacity', String(s.relayOverride.peer)] : [],
      workdir: dir,
      extra: s.shaped ? [] : ['--rate', `${MBIT}Mbit`],
      timeoutMs: s.timeoutMs,
      ...(slow ? { first: slow.index } : {}),
      ...(killAt === undefined ? {} : { killAt }),
    });
  const cascadeRow = async (name: string, label: string, relay: boolean, killAt?: number): Promise<Row> => {
    if (relay && !(await relaySupported())) return { name, run: null, cpu: null, skipped: RELAY_MISSING };
    const row = await measure(name, cascade(label, relay, killAt));
    const input = simInput(s, relay, row.run);
    if (slow) return { ...row, predictedSlow: predictSlowHost(input, { count: 1, mbit: slow.mbit }) };
    const killed = row.run?.killed;
    if (killAt !== undefined && !killed) return row;
    return { ...row, predicted: predict(killed ? { ...input, kill: { atMs: killed.atMs } } : input) };
  };
  try {
    if (want('link'))
      rows.push(
        await measure('one HTTP download (link check)', () =>
          runFanout(hosts.slice(1, 2), server.url, image, s.size, dir, s.timeoutMs),
        ),
      );
    if (want('classic')) rows.push(await cascadeRow('cascade classic (defaults)', 'classic', false));
    if (want('relay')) rows.push(await cascadeRow(`cascade seed --relay (${relayFlags(s)})`, 'relay', true));
    if (want('udpcast')) rows.push(await udpcastRow(s, hosts, image, dir));
    if (want('swarm')) rows.push(await swarmRow(s, hosts, image, dir, server));
    if (want('http'))
      rows.push(
        await measure(`HTTP fan-out (${s.n} concurrent downloads)`, () =>
          runFanout(hosts.slice(1), server.url, image, s.size, dir, s.timeoutMs),
        ),
      );
    if (want('kill'))
      rows.push(await cascadeRow('cascade --relay, a mid-chain relay SIGKILLed', 'kill', true, KILL_AT));
    if (want('relay-machine-tcp')) rows.push(...(await machineTcpRow(s, lab, cascadeRow)));
  } finally {
    await stopAll([server.child]);
  }
  return rows;
}

/**
 * The relay row once more with every host on this machine's own congestion control, when that is
 * not the lab's (bbr here: each connection drains to 4 packets for 0.2 s every 10 s to re-measure
 * its round trip, and a chain pays that at every hop). No row when they are the same.
 */
async function machineTcpRow(
  s: LabSetup,
  lab: NetLab | null,
  cascadeRow: (name: string, label: string, relay: boolean) => Promise<Row>,
): Promise<Row[]> {
  const own = s.machineTcp;
  if (!lab || !own || own === lab.tcp) return [];
  const labTcp = lab.tcp as string;
  await lab.setTcp(own);
  try {
    return [await cascadeRow(`cascade seed --relay (${relayFlags(s)}), hosts on TCP ${own}`, `relay-${own}`, true)];
  } finally {
    await lab.setTcp(labTcp);
  }
}

/** How the relay rows were run: `defaults`, or the `--relay-capacity` override's flags. */
function relayFlags(s: LabSetup): string {
  const o = s.relayOverride;
  return o ? `--capacity ${o.seeder}, peers --relay-capacity ${o.peer}` : 'defaults';
}

async function udpcastRow(s: LabSetup, hosts: LabHost[], image: string, dir: string): Promise<Row> {
  const name = 'udpcast multicast';
  const missing = udpcastMissing(s.shaped);
  if (missing) {
    progress(`bench 2: ${missing}`);
    return { name, run: null, cpu: null, skipped: missing };
  }
  return measure(name, () => runUdpcast(hosts, image, s.size, dir, s.timeoutMs, s.udpBitrate));
}

async function swarmRow(
  s: LabSetup,
  hosts: LabHost[],
  image: string,
  dir: string,
  server: Awaited<ReturnType<typeof startFileServer>>,
): Promise<Row> {
  const name = 'BitTorrent swarm (aria2c)';
  const skip = !s.shaped
    ? 'swarm: skipped (needs the namespace lab; run as root)'
    : !hasAria2()
      ? 'swarm: skipped — aria2c is not on PATH (scripts/bench-tools.sh installs it)'
      : null;
  if (skip) {
    progress(`bench 2: ${skip}`);
    return { name, run: null, cpu: null, skipped: skip };
  }
  return measure(name, () => runSwarm(hosts, image, s.size, server, dir, s.timeoutMs));
}
