/**
 * status/ owns what the coordinator shows: status snapshots for /status, observers and the
 * console (this file), the roster's rows (roster-rows.ts), the recent warnings (warning-log.ts)
 * and the Prometheus metrics (metrics.ts). It reads the other folders' state and changes none.
 */
import {
  STATUS_LIST_LIMIT,
  usedMap,
  type SessionBytes,
  type SessionOptions,
  type SessionReport,
  type SessionStatus,
  type StatusSnapshot,
  type StatusWarning,
} from '@cascade/common';
import type { Member } from '../members/member.js';
import { rosterRows, summaryOf, treeOf, type RosterSources } from './roster-rows.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { SessionEntry } from '../scheduler/types.js';
import type { Session, SessionRecord, SessionStore, SessionTraffic } from '../sessions/session-store.js';

export type { SessionStatus, StatusSnapshot, StatusWarning } from '@cascade/common';

/** What a snapshot reads besides the scheduler: members by id, sessions (sessions/), warnings. */
export interface StatusSources {
  scheduler: Scheduler;
  member: (id: string) => Member | undefined;
  /** Every session's record: its opened image, names and roster. */
  sessions: SessionStore;
  health: {
    isUnreachable(serverId: string): boolean;
    completeSources(s: SessionEntry): number;
    sourceMissing(session: string): boolean;
  };
  warnings: StatusWarning[];
}

/**
 * A JSON-ready picture of every session (or one) for /status, observers and the console: the
 * sessions the scheduler knows (open, or ended and kept), then those peers wait for that no seeder
 * has opened (yet).
 */
export function buildStatus(src: StatusSources, now: number, only?: string): StatusSnapshot {
  const sessions: SessionStatus[] = [];
  const listed = sessionsToList(src.scheduler, only);
  for (const name of listed.names) sessions.push(sessionStatus(src, src.scheduler.getSession(name)!, now));
  for (const name of src.sessions.names()) {
    if (sessions.length >= STATUS_SESSION_LIMIT) break;
    if ((only && name !== only) || src.scheduler.getSession(name)) continue;
    const book = src.sessions.session(name)!;
    if (book.roster.size > 0) sessions.push(unopenedStatus(src, book)); // peers wait for it
  }
  // One session asked for: its warnings only, not other sessions'.
  const warnings = only ? src.warnings.filter((w) => w.session === only) : src.warnings;
  return { now, sessions, warnings, counts: listed.counts, truncated: { sessions: listed.left } };
}

/** Sessions listed in one snapshot: /status and /metrics stay small whatever clients name. */
export const STATUS_SESSION_LIMIT = 100;
const STATE_ORDER: Record<SessionEntry['state'], number> = { running: 0, waiting: 1, ended: 2, pending: 3 };

/** The sessions to list (most relevant first, at most the limit) and the count in each state. */
function sessionsToList(
  scheduler: Scheduler,
  only: string | undefined,
): { names: string[]; counts: NonNullable<StatusSnapshot['counts']>; left: number } {
  const counts = { pending: 0, waiting: 0, running: 0, ended: 0 };
  const all: Array<[string, number]> = [];
  for (const name of scheduler.sessionNames()) {
    const state = scheduler.getSession(name)!.state;
    counts[state]++;
    if (!only || name === only) all.push([name, STATE_ORDER[state]]);
  }
  const names = all
    .sort((a, b) => a[1] - b[1])
    .slice(0, STATUS_SESSION_LIMIT)
    .map(([n]) => n);
  return { names, counts, left: all.length - names.length };
}

/** The end report of a session (its summary and roster), or null when it is unknown. */
export function sessionReport(src: StatusSources, name: string, now: number): SessionReport | null {
  const s = buildStatus(src, now, name).sessions[0];
  if (!s) return null;
  const { state, image, openedAt, startedAt, endedAt, endReason, summary, roster } = s;
  return { name, state, image, openedAt, startedAt, endedAt, endReason, summary, roster };
}

function rosterSources(src: StatusSources, book: Session | undefined): RosterSources {
  return { scheduler: src.scheduler, book, nameOf: (id) => nameOf(src, id, book) };
}

function sessionStatus(src: StatusSources, s: SessionEntry, now: number): SessionStatus {
  const m = src.sessions.get(s.name)?.manifest;
  const book = src.sessions.session(s.name);
  const expected = s.options.endCount ?? s.options.startCount ?? null;
  const roster = rosterRows(rosterSources(src, book));
  return {
    name: s.name,
    state: s.state === 'pending' ? 'unopened' : s.state,
    image: m ? { name: m.name, imageId: m.imageId, size: m.size, slices: m.digests.length } : null,
    bytes: book?.opened ? sessionBytes(book.opened, book.traffic) : null,
    options: definedOptions(s.options),
    openedAt: s.openedAt,
    startedAt: s.startedAt,
    endedAt: s.endedAt,
    endReason: s.endReason,
    imaged: s.imaged,
    expected,
    waiting: s.clientQueue.toArray(STATUS_LIST_LIMIT).map((id, position) => {
      const who = src.member(id);
      const since = src.scheduler.getClient(id)?.since ?? now;
      return { position, id, name: nameOf(src, id, book), ip: who?.ip ?? null, mac: who?.mac ?? null, since };
    }),
    servers: serverRows(src, s, book),
    transfers: transferRows(src, s, book),
    progression: s.progression.slice(-1000),
    tree: treeOf(roster),
    roster,
    summary: summaryOf(book, expected),
    completeSources: s.state === 'ended' ? 0 : src.health.completeSources(s),
    noSource: src.health.sourceMissing(s.name),
  };
}

/** A session peers named that no seeder has opened: its waiting machines, nothing else yet. */
function unopenedStatus(src: StatusSources, book: Session): SessionStatus {
  const roster = rosterRows(rosterSources(src, book));
  const waiting = roster
    .filter((r) => r.outcome === 'waiting')
    .slice(0, STATUS_LIST_LIMIT)
    .map((r, position) => ({ position, id: r.id, name: r.name, ip: r.ip, mac: r.mac, since: r.joinedAt }));
  return {
    ...{ name: book.name, state: 'unopened', image: null, options: {}, openedAt: null, startedAt: null },
    ...{ endedAt: null, endReason: null, imaged: 0, expected: null, waiting, servers: [], transfers: [] },
    ...{ progression: [], tree: [], roster, summary: summaryOf(book, null), completeSources: 0, noSource: false },
  };
}

/** A session's sizes (image, used, the seeder's wire estimate) and what its peers received. */
export function sessionBytes(record: SessionRecord, traffic: SessionTraffic): SessionBytes {
  const m = record.manifest;
  return {
    image: m.size,
    used: usedMap(m)?.usedBytes ?? m.size,
    wireEstimate: record.wireEstimate ?? null,
    wire: traffic.wire,
    payload: traffic.payload,
    ratio: traffic.wire > 0 ? Math.round((traffic.payload / traffic.wire) * 1000) / 1000 : null,
  };
}

function nameOf(src: StatusSources, id: string, book?: Session): string {
  return src.member(id)?.name ?? book?.nameOf(id) ?? id;
}

/** The options without keys left undefined (the snapshot travels as msgpack, where undefined is nil). */
function definedOptions(o: SessionOptions): SessionOptions {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function serverRows(src: StatusSources, s: SessionEntry, book?: Session): SessionStatus['servers'] {
  return [...s.servers].slice(0, STATUS_LIST_LIMIT).map((id) => {
    const srv = src.scheduler.getServer(id)!;
    const who = src.member(id);
    return {
      id,
      name: nameOf(src, id, book),
      host: who?.view?.host ?? null,
      ip: who?.ip ?? null,
      capacity: srv.capacity,
      active: srv.clients.size,
      served: srv.served,
      bytesServed: who?.view?.bytesServed ?? 0,
      relay: srv.relay,
      quarantined: srv.quarantined,
      unreachable: src.health.isUnreachable(id),
    };
  });
}

/** Running transfers: who fetches from whom, how far. */
function transferRows(src: StatusSources, s: SessionEntry, book?: Session): SessionStatus['transfers'] {
  const transfers: SessionStatus['transfers'] = [];
  for (const id of s.clients) {
    const c = src.scheduler.getClient(id);
    if (c?.state !== 'transferring' || !c.server) continue;
    const who = src.member(id);
    const p = who?.view;
    transfers.push({
      client: id,
      clientName: nameOf(src, id, book),
      clientIp: who?.ip ?? null,
      server: c.server,
      serverName: nameOf(src, c.server, book),
      since: c.since,
      slices: p?.slices ?? 0,
      bytes: p?.bytes ?? 0,
      rate: p?.rate ?? 0,
    });
    if (transfers.length >= STATUS_LIST_LIMIT) break;
  }
  return transfers;
}
