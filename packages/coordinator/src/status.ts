import type { Manifest } from '@cascade/common';
import type { Scheduler } from './scheduler/scheduler.js';

/** What the coordinator knows of one peer beyond the scheduler's queues. */
export interface PeerView {
  id: string;
  name: string;
  session: string;
  connected: boolean;
  host: string | null;
  joinedAt: number;
  slices: number;
  bytes: number;
  rate: number;
  updatedAt: number;
  server?: string;
  /** Id of the server this peer is (or was last) being served by. */
  serverId?: string;
  assignedAt?: number;
  /** Bytes this peer's clients received from it, from their progress reports. */
  bytesServed?: number;
  doneAt?: number;
  servedBy?: string;
}

export interface SessionStatus {
  name: string;
  state: string;
  image: { name: string; imageId: string; size: number; slices: number } | null;
  options: Record<string, unknown>;
  openedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  endReason: string | null;
  imaged: number;
  expected: number | null;
  waiting: Array<{ position: number; id: string; name: string; since: number }>;
  servers: Array<{
    id: string;
    name: string;
    host: string | null;
    capacity: number;
    active: number;
    served: number;
    bytesServed: number;
    relay: boolean;
    quarantined: boolean;
  }>;
  transfers: Array<{
    client: string;
    clientName: string;
    server: string;
    serverName: string;
    since: number;
    slices: number;
    bytes: number;
    rate: number;
  }>;
  progression: Array<{ at: number; imaged: number }>;
  /** Who served whom: client name → server name, for every finished client. */
  tree: Array<{ client: string; server: string }>;
}

export interface StatusSnapshot {
  now: number;
  /** At most STATUS_SESSION_LIMIT sessions: running first, then waiting, ended, pending. */
  sessions: SessionStatus[];
  warnings: Array<{ at: number; event: string; detail: string }>;
  /** Every session the coordinator holds, by state (listed or not). */
  counts?: Record<'pending' | 'waiting' | 'running' | 'ended', number>;
  /** How many sessions the list left out. */
  truncated?: { sessions: number };
}

const LIST_LIMIT = 500;
/** Sessions listed in one snapshot: /status and /metrics stay small whatever clients name. */
export const STATUS_SESSION_LIMIT = 100;
const STATE_ORDER: Record<string, number> = { running: 0, waiting: 1, ended: 2, pending: 3 };

/** The names to list (most relevant first, at most the limit) and the count of each state. */
function sessionsToList(
  scheduler: Scheduler,
  only: string | undefined,
): { names: string[]; counts: NonNullable<StatusSnapshot['counts']>; left: number } {
  const counts = { pending: 0, waiting: 0, running: 0, ended: 0 };
  const all: Array<[string, number]> = [];
  for (const name of scheduler.sessionNames()) {
    const state = scheduler.getSession(name)!.state;
    counts[state]++;
    if (!only || name === only) all.push([name, STATE_ORDER[state] ?? 4]);
  }
  const names = all
    .sort((a, b) => a[1] - b[1])
    .slice(0, STATUS_SESSION_LIMIT)
    .map(([n]) => n);
  return { names, counts, left: all.length - names.length };
}

/** A JSON-ready picture of every session (or one) for /status, observers and the console. */
export function buildStatus(
  scheduler: Scheduler,
  peers: Map<string, PeerView>,
  manifests: Map<string, Manifest>,
  warnings: StatusSnapshot['warnings'],
  now: number,
  only?: string,
): StatusSnapshot {
  const sessions: SessionStatus[] = [];
  const nameOf = (id: string): string => peers.get(id)?.name ?? id;
  const listed = sessionsToList(scheduler, only);
  for (const name of listed.names) {
    const s = scheduler.getSession(name)!;
    const m = manifests.get(name);
    const waiting = s.clientQueue.toArray(LIST_LIMIT).map((id, position) => ({
      position,
      id,
      name: nameOf(id),
      since: scheduler.getClient(id)?.since ?? now,
    }));
    const servers = [...s.servers].slice(0, LIST_LIMIT).map((id) => {
      const srv = scheduler.getServer(id)!;
      return {
        id,
        name: nameOf(id),
        host: peers.get(id)?.host ?? null,
        capacity: srv.capacity,
        active: srv.clients.size,
        served: srv.served,
        bytesServed: peers.get(id)?.bytesServed ?? 0,
        relay: srv.relay,
        quarantined: srv.quarantined,
      };
    });
    const transfers: SessionStatus['transfers'] = [];
    const tree: SessionStatus['tree'] = [];
    for (const id of s.clients) {
      const c = scheduler.getClient(id);
      const p = peers.get(id);
      if (c?.state === 'transferring' && c.server && transfers.length < LIST_LIMIT) {
        transfers.push({
          client: id,
          clientName: nameOf(id),
          server: c.server,
          serverName: nameOf(c.server),
          since: c.since,
          slices: p?.slices ?? 0,
          bytes: p?.bytes ?? 0,
          rate: p?.rate ?? 0,
        });
      }
      if (c?.state === 'imaged' && p?.servedBy && tree.length < 10 * LIST_LIMIT)
        tree.push({ client: nameOf(id), server: p.servedBy });
    }
    sessions.push({
      name,
      state: s.state,
      image: m ? { name: m.name, imageId: m.imageId, size: m.size, slices: m.digests.length } : null,
      options: { ...s.options },
      openedAt: s.openedAt,
      startedAt: s.startedAt,
      endedAt: s.endedAt,
      endReason: s.endReason,
      imaged: s.imaged,
      expected: s.options.endCount ?? null,
      waiting,
      servers,
      transfers,
      progression: s.progression.slice(-1000),
      tree,
    });
  }
  return { now, sessions, warnings: [...warnings], counts: listed.counts, truncated: { sessions: listed.left } };
}
