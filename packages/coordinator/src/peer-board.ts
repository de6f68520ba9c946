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

  /** A seeder or peer offers slots at `host`: a seeder is put on the board here (peers are at hello). */
  serving(id: string, name: string, session: string, host: string, now: number): void {
    if (!this.peers.has(id)) this.joined(id, name, session, now);
    this.update(id, { host });
  }

  /**
   * A client's progress report (cumulative slices and bytes). Returns how many slices and bytes
   * are new since its last report; the new bytes are credited to the server serving it.
   */
  progress(id: string, slices: number, bytes: number, rate: number, now: number): { slices: number; bytes: number } {
    const p = this.peers.get(id);
    if (!p) return { slices: 0, bytes: 0 };
    const fresh = { slices: Math.max(0, slices - p.slices), bytes: Math.max(0, bytes - p.bytes) };
    Object.assign(p, { slices, bytes, rate, updatedAt: now });
    const server = p.serverId ? this.peers.get(p.serverId) : undefined;
    if (server) server.bytesServed = (server.bytesServed ?? 0) + fresh.bytes;
    return fresh;
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
