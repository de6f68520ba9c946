import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { after } from 'node:test';
import {
  exitWithin,
  fetchSession,
  firstDifference,
  peerAddress,
  readReport,
  spawnRole,
  startCoordinator,
  type RoleProcess,
} from '@cascade/cli';
import type { SessionStatus } from '@cascade/coordinator';

export interface PeerReport {
  exit: number;
  error: string | null;
  bytesReceived?: number;
  slicesReused?: number;
  badSlices?: number;
  servers?: string[];
  transfers?: Array<{
    server: string;
    startedAt: number;
    bytes: number;
    slices: number;
    ms: number;
    error: string | null;
  }>;
}

export interface LabPeer extends RoleProcess {
  target: string;
  report: string;
}

/**
 * A loopback lab whose roles the test starts, watches and kills one by one (fault injection):
 * coordinator on 127.0.1.100, seeder on 127.0.1.1, peers on 127.0.2.x. Everything is killed
 * after the test file.
 */
export class FaultLab {
  readonly procs: RoleProcess[] = [];
  url = '';
  port = 0;
  private coordinatorRole: RoleProcess | null = null;

  constructor(
    readonly dir: string,
    readonly image: string,
    readonly size: number,
    readonly session = 'lab',
    readonly coordinatorHost = '127.0.1.100',
  ) {
    after(() => this.killAll());
  }

  async startCoordinator(extra: string[] = []): Promise<void> {
    const c = await startCoordinator(
      this.dir,
      this.coordinatorHost,
      this.port,
      `coordinator-${this.procs.length}`,
      extra,
    );
    this.coordinatorRole = c;
    this.procs.push(c);
    this.url = c.url;
    this.port = Number(new URL(c.url).port);
  }

  get coordinator(): RoleProcess {
    if (!this.coordinatorRole) throw new Error('no coordinator started');
    return this.coordinatorRole;
  }

  startSeeder(args: string[], name = 'seeder'): RoleProcess {
    const p = spawnRole(
      `${name}-${this.procs.length}`,
      [
        'seed',
        this.image,
        '--coordinator',
        this.url,
        '--session',
        this.session,
        '--name',
        name,
        '--listen',
        '127.0.1.1:0',
        ...args,
      ],
      this.dir,
    );
    this.procs.push(p);
    return p;
  }

  startPeer(i: number, args: string[] = [], name = `peer-${i}`, target = join(this.dir, `${name}.img`)): LabPeer {
    const report = join(this.dir, `${name}.json`);
    const p = spawnRole(
      `${name}-${this.procs.length}`,
      [
        'peer',
        '--coordinator',
        this.url,
        '--session',
        this.session,
        '--target',
        target,
        '--listen',
        `${peerAddress(i)}:0`,
        '--name',
        name,
        '--report',
        report,
        ...args,
      ],
      this.dir,
    );
    this.procs.push(p);
    return { ...p, target, report };
  }

  /**
   * SIGKILL a seeder and wait until the coordinator has dropped it (its session stays open). Tests
   * use it to leave one imaged peer as the only server, so no pairing is left to the scheduler.
   */
  async killSeeder(seeder: RoleProcess, name = 'seeder'): Promise<void> {
    seeder.proc.kill('SIGKILL');
    await exitWithin(seeder, 5000);
    await this.waitFor(`${name} gone`, (s) => !s.servers.some((x) => x.name === name));
  }

  status(): Promise<SessionStatus | null> {
    return fetchSession(this.url, this.session);
  }

  /** Poll /status until `pred` holds (bounded); returns the status that satisfied it. */
  async waitFor(what: string, pred: (s: SessionStatus) => boolean, timeoutMs = 60_000): Promise<SessionStatus> {
    const deadline = Date.now() + timeoutMs;
    let last: SessionStatus | null = null;
    while (Date.now() < deadline) {
      last = await this.status();
      if (last && pred(last)) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(last)?.slice(0, 2000)}`);
  }

  /** Wait for a peer to exit; its exit code, report and whether its target is byte-exact. */
  async finish(p: LabPeer, timeoutMs = 90_000): Promise<{ exit: number; exact: boolean; report: PeerReport | null }> {
    const exit = await exitWithin(p, timeoutMs);
    const report = await readReport<PeerReport>(p.report);
    const diff = await firstDifference(this.image, p.target, this.size).catch(() => 0);
    return { exit, exact: diff === -1, report };
  }

  async killAll(): Promise<void> {
    for (const p of this.procs) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
    await Promise.all(this.procs.map((p) => exitWithin(p, 5000)));
  }
}

/** Slices of `target` that already match `image` (what a restarted peer may keep). */
export async function matchingSlices(image: string, target: string, size: number, sliceSize: number): Promise<number> {
  const a = await open(image, 'r');
  const b = await open(target, 'r');
  try {
    let same = 0;
    const ba = Buffer.alloc(sliceSize);
    const bb = Buffer.alloc(sliceSize);
    for (let pos = 0; pos < size; pos += sliceSize) {
      const n = Math.min(sliceSize, size - pos);
      await a.read(ba, 0, n, pos);
      const { bytesRead } = await b.read(bb, 0, n, pos);
      const h = (x: Buffer): string => createHash('md5').update(x.subarray(0, n)).digest('hex');
      if (bytesRead === n && h(ba) === h(bb)) same++;
    }
    return same;
  } finally {
    await a.close();
    await b.close();
  }
}
