import type { Manifest } from '@cascade/common';
import type { Scheduler } from './scheduler/scheduler.js';
import { buildStatus, type PeerView, type StatusSnapshot } from './status.js';

const MAX_WARNINGS = 50;

/**
 * What the coordinator knows of each peer beyond the scheduler's queues (name, address,
 * progress, who served it) and the recent warnings: the material of every status snapshot.
 */
export class PeerBoard {
  private readonly peers = new Map<string, PeerView>();
  private readonly warnings: StatusSnapshot['warnings'] = [];

  /** A peer said hello (first time or after a reconnect: its progress is kept). */
  joined(id: string, name: string, session: string, now: number): void {
    const prev = this.peers.get(id);
    this.peers.set(id, {
      ...(prev ?? { slices: 0, bytes: 0, rate: 0, updatedAt: now, host: null, joinedAt: now }),
      id,
      name,
      session,
      connected: true,
    });
  }

  update(id: string, patch: Partial<PeerView>): void {
    const p = this.peers.get(id);
    if (p) Object.assign(p, patch);
  }

  /** A peer's control connection closed: an imaged peer stays on the board, others leave it. */
  left(id: string, imaged: boolean): void {
    if (imaged) this.update(id, { connected: false });
    else this.peers.delete(id);
  }

  name(id: string): string | undefined {
    return this.peers.get(id)?.name;
  }

  warn(at: number, event: string, detail: string): void {
    this.warnings.push({ at, event, detail });
    if (this.warnings.length > MAX_WARNINGS) this.warnings.shift();
  }

  snapshot(scheduler: Scheduler, manifests: Map<string, Manifest>, now: number, session?: string): StatusSnapshot {
    return buildStatus(scheduler, this.peers, manifests, this.warnings, now, session);
  }
}
