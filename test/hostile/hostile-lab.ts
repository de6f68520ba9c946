import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exitWithin, writeImage } from '@cascade/cli';
import type { SessionStatus, StatusSnapshot } from '@cascade/coordinator';
import { FaultLab, type LabPeer } from '../fault-lab.js';
import { tempDir } from '../helpers.js';
import { HostileControl } from './hostile-control.js';

export const MiB = 1024 * 1024;
export const TOKEN = 'hostile-lab-token-5f1c2e';

export interface HostileLabOptions {
  /** Loopback address of the coordinator (one per test file). */
  coordinatorHost: string;
  session?: string;
  size?: number;
  token?: boolean;
  publicStatus?: boolean;
  coordinatorArgs?: string[];
}

/**
 * A FaultLab (real coordinator, seeder and peers as processes on loopback) with what hostile
 * tests need: the token (roles get `--token-file`), status read with or without it, and checks
 * that every real peer ended byte-exact with exit 0.
 */
export class HostileLab extends FaultLab {
  tokenFile = '';
  coordinatorArgs: string[] = [];
  constructor(
    dir: string,
    image: string,
    size: number,
    session: string,
    coordinatorHost: string,
    readonly token: string | undefined,
  ) {
    super(dir, image, size, session, coordinatorHost);
  }

  static async create(prefix: string, o: HostileLabOptions): Promise<HostileLab> {
    const dir = await tempDir(prefix);
    const size = o.size ?? 3 * MiB + 333;
    const image = join(dir, 'master.img');
    await writeImage(image, { size, seed: prefix });
    const lab = new HostileLab(dir, image, size, o.session ?? 'lab', o.coordinatorHost, o.token ? TOKEN : undefined);
    const extra = [...(o.coordinatorArgs ?? [])];
    if (o.token) {
      lab.tokenFile = join(dir, 'token');
      await writeFile(lab.tokenFile, `${TOKEN}\n`);
      extra.push('--token-file', lab.tokenFile);
      if (o.publicStatus) extra.push('--public-status');
    }
    lab.coordinatorArgs = extra;
    await lab.startCoordinator(extra);
    return lab;
  }

  /** SIGKILL the coordinator and start a new one on the same address and port. */
  async restartCoordinator(): Promise<void> {
    this.coordinator.proc.kill('SIGKILL');
    await exitWithin(this.coordinator, 5000);
    await this.startCoordinator(this.coordinatorArgs);
  }

  /** `--token-file FILE` when the lab has a token. */
  get auth(): string[] {
    return this.token ? ['--token-file', this.tokenFile] : [];
  }

  seeder(args: string[] = []): ReturnType<FaultLab['startSeeder']> {
    return this.startSeeder(['--slice', '256KiB', ...this.auth, ...args]);
  }

  peer(i: number, args: string[] = []): LabPeer {
    return this.startPeer(i, [...this.auth, ...args]);
  }

  /** The session's status: over HTTP without a token, else as an operator that knows it. */
  override async status(): Promise<SessionStatus | null> {
    if (!this.token) return super.status();
    const snap = await this.snapshot();
    return snap?.sessions.find((s) => s.name === this.session) ?? null;
  }

  async snapshot(): Promise<StatusSnapshot | null> {
    const c = await HostileControl.connect(this.url).catch(() => null);
    if (!c) return null;
    try {
      const w = await c.hello({ role: 'operator', id: `lab-op-${process.pid}`, name: 'lab-op', token: this.token });
      if (w?.type !== 'welcome') return null;
      const st = await c.sync();
      return (st?.status as StatusSnapshot | undefined) ?? null;
    } finally {
      c.close();
    }
  }

  /** Id of the session's seeder (the first server listed) once it serves. */
  async seederId(): Promise<string> {
    const s = await this.waitFor('the seeder serving', (x) => x.servers.length > 0, 30_000);
    return s.servers[0]!.id;
  }

  /** Every peer exits 0 with its target byte-exact (their logs named in the failure). */
  async allExact(peers: LabPeer[], timeoutMs = 60_000): Promise<void> {
    const results = await Promise.all(peers.map((p) => this.finish(p, timeoutMs)));
    results.forEach((r, i) => {
      const p = peers[i]!;
      assert.equal(r.exit, 0, `${p.name} exited ${r.exit} (${r.report?.error ?? ''}); see ${p.logFile}`);
      assert.ok(r.exact, `${p.name}: target is not byte-exact`);
    });
  }
}
