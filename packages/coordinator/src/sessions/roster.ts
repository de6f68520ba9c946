/** How a machine's part in a session ended (or where it stands). */
export type Outcome = 'waiting' | 'transferring' | 'imaged' | 'failed' | 'left' | 'lost';

/** One machine that joined a session, kept after it disconnects (see Roster). */
export interface RosterEntry {
  id: string;
  hostname: string;
  ip: string | null;
  mac: string | null;
  joinedAt: number;
  outcome: Outcome;
  /** Stable error code and message for `failed`. */
  code: string | null;
  reason: string | null;
  imagedAt: number | null;
  /** Id of the member it was imaged from. */
  source: string | null;
}

export interface RosterSummary {
  imaged: number;
  failed: number;
  /** Machines still in the run: waiting or transferring. */
  waiting: number;
  expected: number | null;
}

const FINAL: ReadonlySet<Outcome> = new Set(['imaged', 'failed']);

/**
 * Every peer that joined one session and how it ended: imaged (time, source), failed (code,
 * reason), left (closed cleanly), lost (dropped). An imaged or failed machine keeps that outcome
 * when it disconnects later; a left or lost one that comes back is waiting again. Bounded: past
 * `limit` entries the oldest finished ones are forgotten first.
 */
export class Roster {
  private readonly entries = new Map<string, RosterEntry>();

  constructor(private readonly limit = 10_000) {}

  join(m: { id: string; hostname: string; ip: string | null; mac: string | null }, now: number): RosterEntry {
    const old = this.entries.get(m.id);
    if (old && FINAL.has(old.outcome)) return old;
    const e: RosterEntry = {
      ...m,
      joinedAt: old?.joinedAt ?? now,
      outcome: 'waiting',
      code: null,
      reason: null,
      imagedAt: null,
      source: null,
    };
    this.entries.set(m.id, e);
    this.trim();
    return e;
  }

  transferring(id: string): void {
    this.set(id, 'transferring');
  }

  waiting(id: string): void {
    this.set(id, 'waiting');
  }

  imaged(id: string, source: string | null, now: number): void {
    const e = this.entries.get(id);
    if (e) Object.assign(e, { outcome: 'imaged', imagedAt: now, source, code: null, reason: null });
  }

  failed(id: string, code: string, reason: string): void {
    const e = this.entries.get(id);
    if (e && e.outcome !== 'imaged') Object.assign(e, { outcome: 'failed', code, reason });
  }

  /**
   * The member closed its link: `left` when it said goodbye, `lost` when the link dropped. A link
   * that drops after its member said goodbye stays `left`.
   */
  gone(id: string, how: 'left' | 'lost'): void {
    const e = this.entries.get(id);
    if (e && (how === 'left' || e.outcome !== 'left')) this.set(id, how);
  }

  /** Forget a machine (one that was never more than its own claims). */
  forget(id: string): void {
    this.entries.delete(id);
  }

  /** Machines on the roster. */
  get size(): number {
    return this.entries.size;
  }

  get(id: string): RosterEntry | undefined {
    return this.entries.get(id);
  }

  list(limit = 500): RosterEntry[] {
    return [...this.entries.values()].slice(0, limit);
  }

  summary(expected: number | null): RosterSummary {
    const s: RosterSummary = { imaged: 0, failed: 0, waiting: 0, expected };
    for (const e of this.entries.values()) {
      if (e.outcome === 'imaged') s.imaged++;
      else if (e.outcome === 'failed') s.failed++;
      else if (e.outcome === 'waiting' || e.outcome === 'transferring') s.waiting++;
    }
    return s;
  }

  private set(id: string, outcome: Outcome): void {
    const e = this.entries.get(id);
    if (e && !FINAL.has(e.outcome)) e.outcome = outcome;
  }

  private trim(): void {
    for (const [id, e] of this.entries) {
      if (this.entries.size <= this.limit) return;
      if (e.outcome !== 'waiting' && e.outcome !== 'transferring') this.entries.delete(id);
    }
  }
}

/** The console's summary: `imaged 38 · failed 1 · waiting 1 of 40 expected`. */
export function summaryLine(s: RosterSummary): string {
  const line = `imaged ${s.imaged} · failed ${s.failed} · waiting ${s.waiting}`;
  return s.expected === null ? line : `${line} of ${s.expected} expected`;
}
