import type { MemberTable } from '../members/member-table.js';
import type { SessionStore } from './session-store.js';

/** Ended sessions kept for status (with their rosters) before the oldest is forgotten. */
export const ENDED_SESSIONS_KEPT = 20;

export interface RetentionParts {
  sessions: SessionStore;
  members: MemberTable;
}

/**
 * Keep every table bounded: the last `keep` ended sessions stay visible (status, the console,
 * end reports); older ones are forgotten with their members' records. A session only peers
 * named (never opened) is kept while one of its members is connected.
 */
export function pruneSessions(p: RetentionParts, keep = ENDED_SESSIONS_KEPT, now = Date.now()): string[] {
  const { sessions } = p;
  const ended: string[] = [];
  for (const name of new Set([...sessions.names(), ...sessions.schedulerNames()])) {
    const s = sessions.entry(name);
    if (s?.state === 'ended') ended.push(name);
  }
  ended.sort((a, b) => (sessions.entry(a)?.endedAt ?? 0) - (sessions.entry(b)?.endedAt ?? 0));
  const live = new Set<string>();
  for (const m of p.members.connected()) if (m.session !== undefined) live.add(m.session);
  const unopened = sessions.names().filter((n) => !sessions.entry(n) && !live.has(n));
  const dropped = [...ended.slice(0, Math.max(0, ended.length - keep)), ...unopened];
  for (const name of dropped) sessions.drop(name);
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
