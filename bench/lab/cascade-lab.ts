import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { exitWithin, firstDifference, readReport, spawnRole, startCoordinator, type RoleProcess } from '@cascade/cli';
import { logTime } from '../lib/cascade.js';
import type { LabHost } from './netns.js';

export interface CascadeLabOptions {
  hosts: LabHost[];
  image: string;
  size: number;
  relay: boolean;
  seederCapacity: number;
  peerCapacity: number;
  workdir: string;
  /** Extra arguments for every seeder and peer (the fallback's `--rate`). */
  extra: string[];
  /** Extra arguments for the seeder only (e.g. `--slice 512KiB`, `--digest sha256`). */
  seederExtra?: string[];
  timeoutMs: number;
}

export interface LabRun {
  makespanMs: number;
  ok: boolean;
  problems: string[];
}

/**
 * One cascade on the lab: coordinator and seeder on host 0, a peer on each other host; the
 * session starts when every peer waits (`--start-count`), and the makespan runs from the
 * coordinator's "session started" to the last peer's image verified. Targets are compared with
 * the image byte for byte, then removed.
 */
export async function runCascadeLab(o: CascadeLabOptions): Promise<LabRun> {
  const [h0, ...peerHosts] = o.hosts as [LabHost, ...LabHost[]];
  const n = peerHosts.length;
  const procs: RoleProcess[] = [];
  try {
    const coordinator = await startCoordinator(o.workdir, h0.addr, 0, 'coordinator', [], h0.exec);
    procs.push(coordinator);
    const common = ['--coordinator', coordinator.url, '--session', 'lab', ...o.extra];
    const seederArgs = ['seed', o.image, ...common, '--capacity', String(o.seederCapacity), '--listen', `${h0.addr}:0`];
    seederArgs.push('--start-count', String(n), '--end-count', String(n), '--name', 'seeder');
    if (o.relay) seederArgs.push('--relay');
    seederArgs.push(...(o.seederExtra ?? []));
    const seeder = spawnRole('seeder', seederArgs, o.workdir, undefined, h0.exec);
    procs.push(seeder);
    const peers = peerHosts.map((h) => {
      const name = `peer-${String(h.index).padStart(2, '0')}`;
      const args = ['peer', ...common, '--target', join(o.workdir, `${name}.img`), '--name', name];
      args.push(
        '--capacity',
        String(o.peerCapacity),
        '--listen',
        `${h.addr}:0`,
        '--report',
        join(o.workdir, `${name}.json`),
      );
      const p = spawnRole(name, args, o.workdir, undefined, h.exec);
      procs.push(p);
      return p;
    });
    const deadline = Date.now() + o.timeoutMs;
    const exits = await Promise.all(peers.map((p) => exitWithin(p, Math.max(1000, deadline - Date.now()))));
    await exitWithin(seeder, 10_000);
    return await collect(o, coordinator.logFile, peers, exits);
  } finally {
    for (const p of procs) if (p.proc.exitCode === null) p.proc.kill('SIGTERM');
    await Promise.all(procs.map((p) => exitWithin(p, 5000)));
  }
}

async function collect(
  o: CascadeLabOptions,
  coordinatorLog: string,
  peers: RoleProcess[],
  exits: number[],
): Promise<LabRun> {
  const started = await logTime(coordinatorLog, 'session started');
  const problems: string[] = [];
  let last = 0;
  for (const [i, p] of peers.entries()) {
    const r = await readReport<{ imagedAt?: number | null; error?: string | null }>(join(o.workdir, `${p.name}.json`));
    const target = join(o.workdir, `${p.name}.img`);
    const diff = await firstDifference(o.image, target, o.size).catch(() => 0);
    await rm(target, { force: true });
    if (exits[i] !== 0 || !r?.imagedAt || diff !== -1)
      problems.push(
        `${p.name}: exit ${exits[i]}, ${r?.error ?? (diff === -1 ? 'no report' : `differs at ${diff}`)} (${p.logFile})`,
      );
    last = Math.max(last, r?.imagedAt ?? 0);
  }
  if (started === null) problems.push(`no "session started" in ${coordinatorLog}`);
  return { makespanMs: started === null ? NaN : last - started, ok: problems.length === 0, problems };
}
