import {
  STATUS_LIST_LIMIT,
  STATUS_ROSTER_LIMIT,
  type RosterStatus,
  type RosterSummaryStatus,
  type SessionStatus,
} from '@cascade/common';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { Session } from '../sessions/session-store.js';

export interface RosterSources {
  scheduler: Scheduler;
  book: Session | undefined;
  /** A member's display name by id (a server's id for `source`). */
  nameOf: (id: string) => string;
}

/**
 * The session's roster as status rows: every machine by its unique name, address and MAC, and
 * how it ended. A machine still in the run is `transferring` while the scheduler has it fetching,
 * else `waiting`.
 */
export function rosterRows(src: RosterSources): RosterStatus[] {
  if (!src.book) return [];
  return src.book.roster.list(STATUS_ROSTER_LIMIT).map((e) => {
    let outcome = e.outcome;
    if (outcome === 'waiting' || outcome === 'transferring')
      outcome = src.scheduler.getClient(e.id)?.state === 'transferring' ? 'transferring' : 'waiting';
    return {
      id: e.id,
      name: src.nameOf(e.id),
      ip: e.ip,
      mac: e.mac,
      outcome,
      code: e.code,
      reason: e.reason,
      joinedAt: e.joinedAt,
      imagedAt: e.imagedAt,
      source: e.source === null ? null : src.nameOf(e.source),
    };
  });
}

/** imaged · failed · waiting of expected, counted over the whole roster (not only the rows listed). */
export function summaryOf(book: Session | undefined, expected: number | null): RosterSummaryStatus {
  return book ? book.roster.summary(expected) : { imaged: 0, failed: 0, waiting: 0, expected };
}

/** Who served whom: one entry per imaged machine, by the names the roster shows. */
export function treeOf(roster: RosterStatus[]): SessionStatus['tree'] {
  const tree: SessionStatus['tree'] = [];
  for (const r of roster) {
    if (r.outcome !== 'imaged' || r.source === null) continue;
    tree.push({ client: r.name, server: r.source, ip: r.ip, mac: r.mac });
    if (tree.length >= 10 * STATUS_LIST_LIMIT) break;
  }
  return tree;
}
