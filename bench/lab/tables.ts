import { percent } from '../lib/proc.js';
import { mib, seconds, type BenchTable } from '../lib/report.js';
import { makespanOf, type LabRun } from './cascade-lab.js';

/** One row of bench 2: a method's run (null when skipped or broken), CPU and the simulator's view. */
export interface Row {
  name: string;
  run: LabRun | null;
  cpu: { avg: number; peak: number } | null;
  /** Simulator makespan ÷ S/B (cascade rows); null: the simulator cannot model it yet. */
  predicted?: number | null;
  /** Slow-host variant: the simulator's fast and slow ratios (null: not modelled yet). */
  predictedSlow?: { fast: number; slow: number } | null;
  /** Why the row did not run. */
  skipped?: string;
  /** Why the row failed (an exception, not a wrong byte: those are in run.problems). */
  error?: string;
}

export interface TableSetup {
  size: number;
  n: number;
  mbit: number;
  sbMs: number;
  shaped: boolean;
  relayNote: string;
  udpBitrate: string;
  /** Targets were on a tmpfs mounted for the run (root); false: on the disk. */
  inMemory: boolean;
  /** The lab hosts' TCP congestion control (null: no namespaces, this machine's own). */
  labTcp: string | null;
  /** This machine's own TCP congestion control. */
  machineTcp: string | null;
}

function result(r: Row): string {
  if (r.skipped) return 'skipped';
  if (r.error || !r.run) return 'FAILED';
  return r.run.ok ? 'ok' : 'FAILED';
}

function predicted(x: number | null | undefined): string {
  if (x === undefined) return '';
  return x === null ? 'n/a' : x.toFixed(2);
}

/** Which TCP congestion control the hosts ran, and why. */
function tcpNote(s: TableSetup): string {
  const own = s.machineTcp ?? 'unknown';
  if (!s.labTcp) return `TCP: this machine's own (${own}) on every connection`;
  const why =
    s.labTcp === 'reno'
      ? ' (a stock lab machine runs cubic; this kernel lets a namespace choose only reno or bbr, and at LAN round trips cubic behaves as Reno)'
      : '';
  const other =
    s.labTcp === own
      ? ''
      : `; the last relay row runs every host on this machine's own ${own} instead (bbr drains each connection to 4 packets for 0.2 s every 10 s to re-measure its round trip, and a chain pays that at every hop)`;
  return `TCP: every lab host uses ${s.labTcp}${why}${other}`;
}

/** Notes every bench 2 table shares: what failed or was skipped, and why. */
function problemNotes(rows: Row[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    if (r.skipped) out.push(r.skipped);
    if (r.error) out.push(`${r.name}: FAILED — ${r.error}`);
    if (r.run && !r.run.ok) out.push(`${r.name}: FAILED — ${r.run.problems.join('; ')}`);
  }
  return out;
}

export function labTable(s: TableSetup, rows: Row[]): BenchTable {
  const notes = [
    s.shaped
      ? `lab: ${s.n + 1} network namespaces, veth into a bridge (own namespace, no IGMP snooping), HTB ${s.mbit} Mbit/s on both ends of every veth`
      : `no namespaces (not root, or --no-netns) — fallback: loopback 127.0.x.y, every server capped with --rate ${s.mbit}Mbit (uplinks only; downlinks unshaped)`,
    tcpNote(s),
    `S/B = ${mib(s.size)} × 8 / ${s.mbit} Mbit/s = ${seconds(s.sbMs)}; cascade: makespan from the seeder's launch (all ${s.n} peers already waiting, seen in the coordinator's /status) to the last image verified (the peers' --report imagedAt); the image's manifests were built before the first row (\`cascade manifest IMAGE [--relay]\`, as an admin does once per image), so no seeder reads the whole image first`,
    s.inMemory
      ? `every host's target is its own file on a tmpfs mounted for the run (image and logs too): in a lab each host has its own disk, and ${s.n} hosts sharing this machine's one disk would measure that disk; every row compares every file with the image byte for byte`
      : `targets on this machine's disk (no tmpfs: not root): ${s.n} hosts share one disk here; every row compares every file with the image byte for byte`,
    `classic: the defaults (seeder capacity 2, peer capacity 3); ${s.relayNote}`,
    `udpcast: udp-receiver on every host started first, makespan from udp-sender's launch (--min-receivers ${s.n} --max-bitrate ${s.udpBitrate}) to the last receiver's exit; multicast only inside the lab's namespaces`,
    `swarm: aria2c, host 0 seeds (its HTTP server is the tracker); makespan from launching the ${s.n} downloads to the last completion hook; link check and HTTP fan-out: curl from host 0`,
    `kill: the same relay run, one relay SIGKILLed mid-chain (the transferring peer with a client of its own and the median progress, once the peers hold 40 % on average); makespan of the ${s.n - 1} survivors`,
    "simulator: fluid model (per-host links; FIFO link queues like the lab's HTB classes: a transfer that starts while its server's uplink is full gets 4 % of it until the earlier ones end; TCP framing and reverse ACKs; cut-through relays; re-routing through the live scheduler), same image, link rate, slice size and the capacities the coordinator listed; kill row: the middle peer of the chain lost when the bench killed its relay",
    'CPU: busy share of the whole machine (all cores, /proc/stat), average over the run and peak 1 s sample; other work on the machine adds noise',
  ];
  for (const r of rows) {
    const k = r.run?.killed;
    if (k) {
      const where = k.relay ? 'a relay with a client' : 'no relay had a client: a transferring peer';
      notes.push(
        `${r.name}: killed ${k.name} (${where}) ${seconds(k.atMs)} after launch, holding ${percent(k.held)} (mean ${percent(k.mean)})`,
      );
    }
  }
  return {
    title: `2. Lab of ${s.n} hosts at ${s.mbit} Mbit/s (${mib(s.size)} image, S/B = ${seconds(s.sbMs)})`,
    header: ['method', 'makespan', '× S/B', 'simulator × S/B', 'CPU avg', 'CPU peak', 'result'],
    rows: rows.map((r) => [
      r.name,
      r.run ? seconds(r.run.makespanMs) : '—',
      r.run ? (r.run.makespanMs / s.sbMs).toFixed(2) : 'n/a',
      predicted(r.predicted),
      r.cpu ? percent(r.cpu.avg) : '',
      r.cpu ? percent(r.cpu.peak) : '',
      result(r),
    ]),
    notes: [...notes, ...problemNotes(rows)],
  };
}

/** The slow-host variant: the fast hosts' makespan ÷ S/B and the slow host's ÷ its own S/B. */
export function slowTable(s: TableSetup, slow: { index: number; mbit: number }, rows: Row[]): BenchTable {
  const slowSbMs = ((s.size * 8) / (slow.mbit * 1e6)) * 1000;
  const cells = (r: Row): string[] => {
    if (!r.run) return ['—', 'n/a', '—', 'n/a'];
    const fast = r.run.expected.filter((h) => h !== slow.index);
    const f = makespanOf(r.run, fast);
    const w = makespanOf(r.run, [slow.index]);
    return [seconds(f), (f / s.sbMs).toFixed(2), seconds(w), (w / slowSbMs).toFixed(2)];
  };
  const sim = (r: Row): string =>
    r.predictedSlow === undefined
      ? ''
      : r.predictedSlow === null
        ? 'n/a'
        : `${r.predictedSlow.fast.toFixed(2)} / ${r.predictedSlow.slow.toFixed(2)}`;
  return {
    title: `2b. The same lab with one slow receiver (host ${slow.index} at ${slow.mbit} Mbit/s both ways)`,
    header: [
      'method',
      `${s.n - 1} fast: makespan`,
      '÷ S/B',
      'slow: makespan',
      '÷ own S/B',
      'simulator fast / slow',
      'result',
    ],
    rows: rows.map((r) => [r.name, ...cells(r), sim(r), result(r)]),
    notes: [
      `S/B = ${seconds(s.sbMs)} for the ${s.n - 1} fast hosts; the slow host's own S/B = ${mib(s.size)} × 8 / ${slow.mbit} Mbit/s = ${seconds(slowSbMs)}`,
      `the slow host's peer joins first (the head of the coordinator's FIFO queue, the worst place in a chain), the others once it is seen waiting; the udpcast and swarm rows start as in table 2`,
      'simulator: the same fluid model with the slow peer first in the queue at its own link rate both ways (re-routing included)',
      ...problemNotes(rows),
    ],
  };
}
