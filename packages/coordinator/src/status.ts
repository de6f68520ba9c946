import {
  STATUS_LIST_LIMIT,
  type SessionOptions,
  type SessionStatus,
  type StatusSnapshot,
  type StatusWarning,
} from '@cascade/common';
import type { Member, SessionRecord } from './member.js';
import type { Scheduler } from './scheduler/scheduler.js';
import type { SessionEntry } from './scheduler/types.js';

export type { SessionStatus, StatusSnapshot, StatusWarning } from '@cascade/common';

/** What a snapshot reads besides the scheduler: members by id, sessions' manifests, warnings. */
export interface StatusSources {
  scheduler: Scheduler;
  member: (id: string) => Member | undefined;
  sessions: ReadonlyMap<string, SessionRecord>;
  warnings: StatusWarning[];
}

/** A JSON-ready picture of every session (or one) for /status, observers and the console. */
export function buildStatus(src: StatusSources, now: number, only?: string): StatusSnapshot {
  const sessions: SessionStatus[] = [];
  for (const name of src.scheduler.sessionNames()) {
    if (only && name !== only) continue;
    sessions.push(sessionStatus(src, src.scheduler.getSession(name)!, now));
  }
  return { now, sessions, warnings: src.warnings };
}

function sessionStatus(src: StatusSources, s: SessionEntry, now: number): SessionStatus {
  const m = src.sessions.get(s.name)?.manifest;
  return {
    name: s.name,
    state: s.state,
    image: m ? { name: m.name, imageId: m.imageId, size: m.size, slices: m.digests.length } : null,
    options: definedOptions(s.options),
    openedAt: s.openedAt,
    startedAt: s.startedAt,
    endedAt: s.endedAt,
    endReason: s.endReason,
    imaged: s.imaged,
    expected: s.options.endCount ?? null,
    waiting: s.clientQueue.toArray(STATUS_LIST_LIMIT).map((id, position) => ({
      position,
      id,
      name: nameOf(src, id),
      since: src.scheduler.getClient(id)?.since ?? now,
    })),
    servers: serverRows(src, s),
    ...clientRows(src, s),
    progression: s.progression.slice(-1000),
  };
}

function nameOf(src: StatusSources, id: string): string {
  return src.member(id)?.name ?? id;
}

/** The options without keys left undefined (the snapshot travels as msgpack, where undefined is nil). */
function definedOptions(o: SessionOptions): SessionOptions {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function serverRows(src: StatusSources, s: SessionEntry): SessionStatus['servers'] {
  return [...s.servers].slice(0, STATUS_LIST_LIMIT).map((id) => {
    const srv = src.scheduler.getServer(id)!;
    const view = src.member(id)?.view;
    return {
      id,
      name: nameOf(src, id),
      host: view?.host ?? null,
      capacity: srv.capacity,
      active: srv.clients.size,
      served: srv.served,
      bytesServed: view?.bytesServed ?? 0,
      relay: srv.relay,
      quarantined: srv.quarantined,
    };
  });
}

/** Running transfers, and who served whom for every imaged client. */
function clientRows(src: StatusSources, s: SessionEntry): Pick<SessionStatus, 'transfers' | 'tree'> {
  const transfers: SessionStatus['transfers'] = [];
  const tree: SessionStatus['tree'] = [];
  for (const id of s.clients) {
    const c = src.scheduler.getClient(id);
    const p = src.member(id)?.view;
    if (c?.state === 'transferring' && c.server && transfers.length < STATUS_LIST_LIMIT) {
      transfers.push({
        client: id,
        clientName: nameOf(src, id),
        server: c.server,
        serverName: nameOf(src, c.server),
        since: c.since,
        slices: p?.slices ?? 0,
        bytes: p?.bytes ?? 0,
        rate: p?.rate ?? 0,
      });
    }
    if (c?.state === 'imaged' && p?.servedBy && tree.length < 10 * STATUS_LIST_LIMIT)
      tree.push({ client: nameOf(src, id), server: p.servedBy });
  }
  return { transfers, tree };
}
