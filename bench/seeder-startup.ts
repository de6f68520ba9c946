/**
 * Bench 1's startup figure: a peer already waiting at the coordinator, then the seeder launched;
 * time from launching the seeder's process to the peer's first slice received (its
 * "first slice received" log line), with the seeder's own milestones beside it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exitWithin, peerAddress, spawnRole, startCoordinator, type RoleProcess } from '@cascade/cli';
import { logTime } from './lib/cascade.js';

export interface StartupTimes {
  /** Seeder launched → the peer's first slice received. */
  firstSliceMs: number;
  /** Seeder launched → its manifest ready / serving / connected; the peer's assignment. */
  manifestMs: number | null;
  servingMs: number | null;
  assignedMs: number | null;
}

/** Resolve once `msg` appears in a role's JSON log (checked every 20 ms, at most `ms`). */
async function logLine(p: RoleProcess, msg: string, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const text = await readFile(p.logFile, 'utf8').catch(() => '');
    if (text.includes(`"msg":"${msg}"`)) return Date.now();
    if (p.proc.exitCode !== null) throw new Error(`${p.name} exited before "${msg}"; see ${p.logFile}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no "${msg}" from ${p.name} within ${ms} ms; see ${p.logFile}`);
}

/**
 * One startup run in `dir` (the image's manifest should already be cached beside it, as for any
 * seeder restarted on the same image). The peer is waiting (its coordinator connection made)
 * before the seeder starts.
 */
export async function startupOnce(image: string, dir: string, seederArgs: string[] = []): Promise<StartupTimes> {
  const coordinator = await startCoordinator(dir, '127.0.1.100');
  const procs: RoleProcess[] = [coordinator];
  try {
    const session = 'bench1-startup';
    const peerArgs = ['peer', '--coordinator', coordinator.url, '--session', session];
    peerArgs.push('--target', join(dir, 'peer.img'), '--listen', `${peerAddress(1)}:0`, '--name', 'peer');
    const peer = spawnRole('peer', peerArgs, dir);
    procs.push(peer);
    await logLine(peer, 'connected to coordinator', 30_000);
    const seedArgs = ['seed', image, '--coordinator', coordinator.url, '--session', session];
    seedArgs.push('--listen', '127.0.1.1:0', '--end-count', '1', '--name', 'seeder', ...seederArgs);
    const launched = Date.now();
    const seeder = spawnRole('seeder', seedArgs, dir);
    procs.push(seeder);
    if ((await exitWithin(peer, 5 * 60_000)) !== 0) throw new Error(`peer failed; see ${peer.logFile}`);
    await exitWithin(seeder, 10_000);
    const first = await logTime(peer.logFile, 'first slice received');
    if (first === null) throw new Error(`no "first slice received" line in ${peer.logFile}`);
    const since = (t: number | null): number | null => (t === null ? null : t - launched);
    return {
      firstSliceMs: first - launched,
      manifestMs: since(await logTime(seeder.logFile, 'manifest ready')),
      servingMs: since(await logTime(seeder.logFile, 'serving slices')),
      assignedMs: since(await logTime(peer.logFile, 'assigned')),
    };
  } finally {
    for (const p of procs) if (p.proc.exitCode === null) p.proc.kill('SIGTERM');
    await Promise.all(procs.map((p) => exitWithin(p, 5000)));
  }
}
