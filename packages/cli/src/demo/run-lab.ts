import { join } from 'node:path';
import { exitWithin, peerAddress, readReport, spawnRole, startCoordinator, type RoleProcess } from './lab.js';
import type { SessionStatus, StatusSnapshot } from '@cascade/coordinator';
import { firstDifference } from './fixtures.js';

/** The coordinator's /status for one session, or null if it cannot be read. */
export async function fetchSession(url: string, session: string): Promise<SessionStatus | null> {
  try {
    const res = await fetch(`${url.replace(/^ws/, 'http')}/status?session=${encodeURIComponent(session)}`);
    const snap = (await res.json()) as StatusSnapshot;
    return snap.sessions.find((s) => s.name === session) ?? null;
  } catch {
    return null;
  }
}

export interface LabOptions {
  workdir: string;
  image: string;
  imageSize: number;
  peers: number;
  seederCapacity?: number;
  peerCapacity?: number;
  /** Uplink cap for every server (seeder and peers), e.g. "40MB/s". */
  rate?: string;
  sliceSize?: string;
  session?: string;
  /** Extra arguments for peer i (1-based). */
  peerArgs?: (i: number) => string[];
  seederArgs?: string[];
  /** Everything must finish within this long. */
  timeoutMs?: number;
}

export interface PeerOutcome {
  name: string;
  exit: number;
  byteExact: boolean;
  firstDifference: number;
  /** ms from the lab's start until this peer reported its image complete. */
  imagedAfterMs: number | null;
  servers: string[];
  bytesReceived: number;
  bytesServed: number;
  badSlices: number;
  error: string | null;
  logFile: string;
}

export interface LabResult {
  peers: PeerOutcome[];
  seederExit: number;
  /** ms from the lab's start (processes launched) until the last peer was imaged. */
  makespanMs: number;
  /** ms from the session's start at the coordinator until the last peer was imaged. */
  cascadeMs: number | null;
  /** The coordinator's view of the session at the end (progression, who served whom). */
  session: SessionStatus | null;
  startedAt: number;
  ok: boolean;
  workdir: string;
}

interface Report {
  exit: number;
  error: string | null;
  servers?: string[];
  bytesReceived?: number;
  bytesServed?: number;
  badSlices?: number;
  imagedAt?: number | null;
}

function spawnSeeder(o: LabOptions, url: string, session: string): RoleProcess {
  const rate = o.rate ? ['--rate', o.rate] : [];
  const args = ['seed', o.image, '--coordinator', url, '--session', session];
  args.push('--capacity', String(o.seederCapacity ?? 2), '--listen', '127.0.1.1:0');
  args.push('--end-count', String(o.peers), '--name', 'seeder');
  if (o.sliceSize) args.push('--slice', o.sliceSize);
  return spawnRole('seeder', [...args, ...rate, ...(o.seederArgs ?? [])], o.workdir);
}

function spawnPeer(o: LabOptions, url: string, session: string, i: number): RoleProcess {
  const name = `peer-${String(i).padStart(2, '0')}`;
  const rate = o.rate ? ['--rate', o.rate] : [];
  const args = ['peer', '--coordinator', url, '--session', session];
  args.push('--target', join(o.workdir, `${name}.img`), '--capacity', String(o.peerCapacity ?? 3));
  args.push('--listen', `${peerAddress(i)}:0`, '--name', name, '--report', join(o.workdir, `${name}.json`));
  return spawnRole(name, [...args, ...rate, ...(o.peerArgs?.(i) ?? [])], o.workdir);
}

/** What one peer ended with: its exit, its report, and its target compared with the image. */
async function outcomeOf(o: LabOptions, p: RoleProcess, exit: number, startedAt: number): Promise<PeerOutcome> {
  const r = await readReport<Report>(join(o.workdir, `${p.name}.json`));
  const diff = await firstDifference(o.image, join(o.workdir, `${p.name}.img`), o.imageSize).catch(() => 0);
  return {
    name: p.name,
    exit,
    byteExact: diff === -1,
    firstDifference: diff,
    imagedAfterMs: r?.imagedAt ? r.imagedAt - startedAt : null,
    servers: r?.servers ?? [],
    bytesReceived: r?.bytesReceived ?? 0,
    bytesServed: r?.bytesServed ?? 0,
    badSlices: r?.badSlices ?? 0,
    error: r?.error ?? (r ? null : 'no report written'),
    logFile: p.logFile,
  };
}

/**
 * Run a whole cascade as separate processes on loopback: a coordinator, a seeder and `peers`
 * peers, each on its own 127.0.x.y address; wait for all and compare every target with the
 * image byte for byte.
 */
export async function runLab(o: LabOptions): Promise<LabResult> {
  const session = o.session ?? 'demo';
  const coordinator = await startCoordinator(o.workdir, '127.0.1.100');
  const startedAt = Date.now();
  const procs: RoleProcess[] = [coordinator];
  try {
    const seeder = spawnSeeder(o, coordinator.url, session);
    procs.push(seeder);
    const peers: RoleProcess[] = [];
    for (let i = 1; i <= o.peers; i++) peers.push(spawnPeer(o, coordinator.url, session, i));
    procs.push(...peers);
    const deadline = startedAt + (o.timeoutMs ?? 10 * 60_000);
    const exits = await Promise.all(peers.map((p) => exitWithin(p, Math.max(1000, deadline - Date.now()))));
    const seederExit = await exitWithin(seeder, Math.max(5000, deadline - Date.now()));
    const status = await fetchSession(coordinator.url, session);
    const outcomes: PeerOutcome[] = [];
    for (const [i, p] of peers.entries()) outcomes.push(await outcomeOf(o, p, exits[i] ?? 1, startedAt));
    const times = outcomes.map((x) => x.imagedAfterMs ?? 0);
    const lastImaged = startedAt + Math.max(0, ...times);
    return {
      peers: outcomes,
      seederExit,
      makespanMs: Math.max(0, ...times),
      cascadeMs: status?.startedAt ? lastImaged - status.startedAt : null,
      session: status,
      startedAt,
      ok: outcomes.every((x) => x.exit === 0 && x.byteExact) && seederExit === 0,
      workdir: o.workdir,
    };
  } finally {
    for (const p of procs) if (p.proc.exitCode === null) p.proc.kill('SIGTERM');
    await Promise.all(procs.map((p) => exitWithin(p, 5000)));
  }
}
