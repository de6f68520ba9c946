import type { Decision, SessionEntry } from './types.js';

/** Bounds on sessions named by clients before any seeder opened them (issue 16, finding 9). */
export interface PendingLimits {
  /** A pending session with no member for this long is forgotten. */
  ttlMs: number;
  /** Pending sessions one remote address may have created and still hold. */
  perAddress: number;
  /** Pending sessions held at once, from every address. */
  total: number;
}

export const DEFAULT_PENDING_LIMITS: PendingLimits = { ttlMs: 10 * 60_000, perAddress: 64, total: 1024 };

interface PendingRecord {
  address: string | undefined;
  /** Since when it has had no client and no server, or null while it has some. */
  emptySince: number | null;
}

/**
 * Which pending sessions exist, who created them and since when they are empty: a `want` under a
 * new name may not create one past the per-address or total cap, and an empty one expires.
 * Pure bookkeeping; the Scheduler asks and acts.
 */
export class PendingSessions {
  private readonly records = new Map<string, PendingRecord>();
  private readonly byAddress = new Map<string, number>();

  constructor(readonly limits: PendingLimits = DEFAULT_PENDING_LIMITS) {}

  get size(): number {
    return this.records.size;
  }

  /** Why `address` may not create one more pending session now, or null when it may. */
  refusal(address: string | undefined): string | null {
    if (this.records.size >= this.limits.total)
      return `the coordinator holds its maximum of ${this.limits.total} sessions no seeder has opened`;
    if (address !== undefined && (this.byAddress.get(address) ?? 0) >= this.limits.perAddress)
      return `${address} holds its maximum of ${this.limits.perAddress} sessions no seeder has opened`;
    return null;
  }

  /** Record a new pending session for `address`, or the refusal when a cap is reached. */
  admit(session: string, client: string, address: string | undefined, now: number): Decision | null {
    const reason = this.refusal(address);
    if (reason) return { kind: 'refused', session, client, code: 'ERR_TOO_MANY_SESSIONS', reason };
    this.created(session, address, now);
    return null;
  }

  /** Record a new pending session (`now` null: its emptiness is first seen at the next expiry check). */
  created(name: string, address: string | undefined, now: number | null): void {
    if (this.records.has(name)) return;
    this.records.set(name, { address, emptySince: now });
    if (address !== undefined) this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1);
  }

  /** The session left the pending state (opened) or was dropped. */
  forget(name: string): void {
    const r = this.records.get(name);
    if (!r) return;
    this.records.delete(name);
    if (r.address === undefined) return;
    const n = (this.byAddress.get(r.address) ?? 1) - 1;
    if (n <= 0) this.byAddress.delete(r.address);
    else this.byAddress.set(r.address, n);
  }

  /** Names of pending sessions that have been empty for the whole ttl (to drop now); forgets opened ones. */
  expired(sessions: ReadonlyMap<string, SessionEntry>, now: number): string[] {
    const out: string[] = [];
    for (const [name, r] of this.records) {
      const s = sessions.get(name);
      if (!s || s.state !== 'pending') {
        this.forget(name);
        continue;
      }
      const empty = s.clients.size === 0 && s.servers.size === 0;
      if (!empty) r.emptySince = null;
      else if (r.emptySince === null) r.emptySince = now;
      else if (now - r.emptySince >= this.limits.ttlMs) out.push(name);
    }
    return out;
  }
}
