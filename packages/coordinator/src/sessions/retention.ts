import type { SessionRecord } from '../members/member.js';
import type { MemberTable } from '../members/member-table.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { SessionBooks } from './session-store.js';

/** Ended sessions kept for status (with their rosters) before the oldest is forgotten. */
export const ENDED_SESSIONS_KEPT = 20;

export interface RetentionParts {
  scheduler: Scheduler;
  sessions: Map<string, SessionRecord>;
  books: SessionBooks;
  members: MemberTable;
}

/**
 * Keep every table bounded: the last `keep` ended sessions stay visible (status, the console,
 * end reports); older ones are forgotten with their members' records. A session only peers
 * named (never opened) is kept while one of its members is connected.
 */
export function pruneSessions(p: RetentionParts, keep = ENDED_SESSIONS_KEPT, now = Date.now()): string[] {
  const ended = p.scheduler
    .sessionNames()
    .map((n) => p.scheduler.getSession(n)!)
    .filter((s) => s.state === 'ended')
    .sort((a, b) => (a.endedAt ?? 0) - (b.endedAt ?? 0));
  const dropped = ended.slice(0, Math.max(0, ended.length - keep)).map((s) => s.name);
  for (const name of dropped) {
    p.scheduler.dropSession(name);
    p.sessions.delete(name);
    p.books.delete(name);
  }
  const live = new Set<string>();
  for (const m of p.members.connected()) if (m.session !== undefined) live.add(m.session);
  for (const name of p.books.names()) {
    if (!p.scheduler.getSession(name) && !live.has(name)) {
      p.books.delete(name);
      dropped.push(name);
    }
  }
  if (dropped.length > 0) forgetMembers(p, new Set(dropped), now);
  return dropped;
}

/** Disconnected members of forgotten sessions: nothing of them is shown any more. */
function forgetMembers(p: RetentionParts, gone: ReadonlySet<string>, now: number): void {
  for (const m of [...p.members.all()]) {
    if (m.conn || m.session === undefined || !gone.has(m.session)) continue;
    m.view = null;
    m.serving = null;
    m.opened = null;
    p.members.settle(m, now);
  }
}
