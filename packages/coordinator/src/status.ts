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
  sessions: SessionStatus[];
  warnings: Array<{ at: number; event: string; detail: string }>;
}

const LIST_LIMIT = 500;

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
  for (const name of scheduler.sessionNames()) {
    if (only && name !== only) continue;
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
  return { now, sessions, warnings: [...warnings] };
}
