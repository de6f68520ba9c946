import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { exitWithin, firstDifference, readReport, spawnRole, startCoordinator, type RoleProcess } from '@cascade/cli';
import { progress } from '../lib/cascade.js';
import { killMidChain, type Killed } from './kill.js';
import type { LabHost } from './netns.js';
import { statusReader, waitForStatus, type StatusReader } from './status.js';

const SESSION = 'lab';
const JOIN_TIMEOUT_MS = 60_000;

export interface CascadeLabOptions {
  /** Folder name of this run under `workdir` (logs, reports, targets). */
  label: string;
  hosts: LabHost[];
  image: string;
  size: number;
  relay: boolean;
  /** Extra seeder arguments (`--capacity`, `--slice`, …); none: the defaults. */
  seederArgs: string[];
  /** Extra peer arguments (`--relay-capacity`, …); none: the defaults. */
  peerArgs: string[];
  workdir: string;
  /** Extra arguments for every seeder and peer (the fallback's `--rate`). */
  extra: string[];
  timeoutMs: number;
  /** Host index whose peer joins first, alone (the slow host: the head of the FIFO queue). */
  first?: number;
  /** SIGKILL a mid-chain relay once the peers hold this share of the image on average. */
  killAt?: number;
  /**
   * Check each peer's target instead of comparing it with the image byte for byte (bench 6: fsck
   * and the used blocks; free space may rightly differ). Empty: correct. A peer with a verified
   * image counts in the makespan even when its target is wrong (the run then fails).
   */
  verify?: (target: string, hostIndex: number) => Promise<string[]>;
}

export interface LabRun {
  /** Epoch ms the measured run began (seeder, sender or downloads launched). */
  t0: number;
  /** Epoch ms each receiving host (by lab index) had its verified image; absent: never. */
  doneAt: Map<number, number>;
  /** Hosts that had to finish: every receiver (the survivors in the kill variant). */
  expected: number[];
  /** Launch to the last expected host done (NaN when one never finished). */
  makespanMs: number;
  ok: boolean;
  problems: string[];
  killed?: Killed | null;
  /** The seeder's capacity as the coordinator listed it (what the defaults chose). */
  seederCapacity?: number;
}

/** Launch to the last of `hosts` done; NaN when one of them never finished. */
export function makespanOf(run: { t0: number; doneAt: Map<number, number> }, hosts: number[]): number {
  let last = -Infinity;
  for (const h of hosts) last = Math.max(last, run.doneAt.get(h) ?? NaN);
  return last - run.t0;
}

/**
 * One cascade on the lab: coordinator and seeder on host 0, a peer on each other host. Every
 * peer is started first and the coordinator's status must list all of them waiting; then the
 * seeder is launched and the makespan runs from that launch to the last peer's image verified
 * (its --report imagedAt). Targets are compared with the image byte for byte, then removed.
 */
export async function runCascadeLab(o: CascadeLabOptions): Promise<LabRun> {
  const [h0, ...peerHosts] = o.hosts as [LabHost, ...LabHost[]];
  const n = peerHosts.length;
  const dir = join(o.workdir, o.label);
  await mkdir(dir, { recursive: true });
  const procs: RoleProcess[] = [];
  try {
    const coordinator = await startCoordinator(dir, h0.addr, 0, 'coordinator', [], h0.exec);
    procs.push(coordinator);
    const read = statusReader(h0, coordinator.url, SESSION);
    const common = ['--coordinator', coordinator.url, '--session', SESSION, ...o.extra];
    const peers = await startPeers(o, dir, peerHosts, common, read);
    procs.push(...peers);
    await waitForStatus(read, (s) => s.waiting.length >= n, JOIN_TIMEOUT_MS, `${n} peers waiting`);
    const ends = o.killAt === undefined ? n : n - 1;
    const seederArgs = ['seed', o.image, ...common, '--listen', `${h0.addr}:0`, '--name', 'seeder'];
    seederArgs.push('--start-count', String(n), '--end-count', String(ends), ...(o.relay ? ['--relay'] : []));
    const t0 = Date.now();
    const seeder = spawnRole('seeder', [...seederArgs, ...o.seederArgs], dir, undefined, h0.exec);
    procs.push(seeder);
    const capacity = waitForStatus(read, (s) => s.servers.some((v) => v.name === 'seeder'), 30_000, 'serving')
      .then((s) => s.servers.find((v) => v.name === 'seeder')?.capacity)
      .catch(() => undefined);
    const deadline = t0 + o.timeoutMs;
    const exits = Promise.all(peers.map((p) => exitWithin(p, Math.max(1000, deadline - Date.now()))));
    let finished = false;
    void exits.then(() => (finished = true));
    const killed =
      o.killAt === undefined
        ? undefined
        : await killMidChain(read, peers, o.size, t0, { when: o.killAt, timeoutMs: o.timeoutMs, stop: () => finished });
    if (killed) progress(`bench 2: SIGKILLed ${killed.name} ${(killed.atMs / 1000).toFixed(1)} s after launch`);
    const codes = await exits;
    await exitWithin(seeder, 10_000);
    const run = await collect(o, dir, peers, codes, t0, killed?.name);
    return { ...run, killed, seederCapacity: await capacity };
  } finally {
    for (const p of procs) if (p.proc.exitCode === null) p.proc.kill('SIGTERM');
    await Promise.all(procs.map((p) => exitWithin(p, 5000)));
  }
}

/** Start a peer on every host; `first` joins alone and is seen waiting before the others start. */
async function startPeers(
  o: CascadeLabOptions,
  dir: string,
  hosts: LabHost[],
  common: string[],
  read: StatusReader,
): Promise<RoleProcess[]> {
  const ordered = [...hosts].sort((a, b) => Number(b.index === o.first) - Number(a.index === o.first));
  const peers: RoleProcess[] = [];
  for (const h of ordered) {
    const name = peerName(h);
    const args = ['peer', ...common, '--target', join(dir, `${name}.img`), '--name', name];
    args.push('--listen', `${h.addr}:0`, '--report', join(dir, `${name}.json`), ...o.peerArgs);
    peers.push(spawnRole(name, args, dir, undefined, h.exec));
    if (h.index === o.first)
      await waitForStatus(read, (s) => s.waiting.some((w) => w.name === name), JOIN_TIMEOUT_MS, `${name} waiting`);
  }
  return peers;
}

function peerName(h: LabHost): string {
  return `peer-${String(h.index).padStart(2, '0')}`;
}

async function collect(
  o: CascadeLabOptions,
  dir: string,
  peers: RoleProcess[],
  exits: number[],
  t0: number,
  killed: string | undefined,
): Promise<Omit<LabRun, 'killed' | 'seederCapacity'>> {
  const problems: string[] = [];
  const doneAt = new Map<number, number>();
  const expected: number[] = [];
  for (const [i, p] of peers.entries()) {
    const index = Number(p.name.slice('peer-'.length));
    const target = join(dir, `${p.name}.img`);
    if (p.name === killed) {
      await rm(target, { force: true });
      continue;
    }
    expected.push(index);
    const r = await readReport<{ imagedAt?: number | null; error?: string | null }>(join(dir, `${p.name}.json`));
    if (o.verify) {
      const wrong = r?.imagedAt ? await o.verify(target, index).catch((err: Error) => [err.message]) : [];
      await rm(target, { force: true });
      if (r?.imagedAt) doneAt.set(index, r.imagedAt);
      if (exits[i] !== 0 || !r?.imagedAt || wrong.length > 0)
        problems.push(`${p.name}: exit ${exits[i]}, ${r?.error ?? (wrong.join('; ') || 'no report')} (${p.logFile})`);
      continue;
    }
    const diff = await firstDifference(o.image, target, o.size).catch(() => 0);
    await rm(target, { force: true });
    if (r?.imagedAt && diff === -1) doneAt.set(index, r.imagedAt);
    if (exits[i] !== 0 || !r?.imagedAt || diff !== -1)
      problems.push(
        `${p.name}: exit ${exits[i]}, ${r?.error ?? (diff === -1 ? 'no report' : `differs at ${diff}`)} (${p.logFile})`,
      );
  }
  if (o.killAt !== undefined && !killed) problems.push('no relay was killed (the run ended first?)');
  const run = { t0, doneAt, expected };
  return { ...run, makespanMs: makespanOf(run, expected), ok: problems.length === 0, problems };
}
