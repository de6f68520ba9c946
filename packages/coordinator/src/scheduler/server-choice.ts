import type { ClientEntry, ServerEntry, SessionEntry } from './types.js';

/**
 * Take the first server in queue order that can serve this client: not itself, not one that
 * downloads from it (relay), not one it asked to avoid unless no other is free, and not one it
 * reported sending bad slices while the session has any other server. The chosen server leaves
 * the queue.
 */
export function pickServer(
  s: SessionEntry,
  client: ClientEntry,
  servers: ReadonlyMap<string, ServerEntry>,
  clients: ReadonlyMap<string, ClientEntry>,
  links: ServerLinks,
): ServerEntry | null {
  let fallback: ServerEntry | null = null;
  const trustsNone = client.distrusted.size > 0 && [...s.servers].every((id) => client.distrusted.has(id));
  // The first eligible server ends the scan; the whole queue is read only when none near the
  // head may serve this client (relays downstream of it), so no free slot is ever overlooked.
  for (const id of s.serverQueue) {
    const srv = servers.get(id) as ServerEntry;
    if (!canServe(srv, client, clients, links)) continue;
    if (client.distrusted.has(id) && !trustsNone) continue;
    if (client.avoid.has(id)) {
      fallback ??= srv;
      continue;
    }
    s.serverQueue.remove(id);
    return srv;
  }
  if (fallback) s.serverQueue.remove(fallback.id);
  return fallback;
}

/** May `srv` serve `client` now? */
export function canServe(
  srv: ServerEntry,
  client: ClientEntry,
  clients: ReadonlyMap<string, ClientEntry>,
  links: ServerLinks,
): boolean {
  if (srv.id === client.id || srv.quarantined || srv.suspended) return false;
  if (!srv.relay) return true;
  // A relay streams what it receives: it must be a client of the session that is receiving (not
  // waiting for a server), and be ahead of the client, or the client would wait on it (DESIGN:
  // re-attach ahead).
  const self = clients.get(srv.id);
  if (!self || (self.state !== 'imaged' && (self.state !== 'transferring' || self.held < client.held))) return false;
  if (self.state !== 'imaged' && self.route?.noRelay) return false; // a slow machine relays to nobody (reroute.ts)
  // A relay must not be downstream of the client it would serve (no cycles); nothing is
  // downstream of a client that no client names as its server.
  if (!links.named(client.id)) return true;
  let cur: string | null = srv.id;
  for (let depth = 0; cur !== null && depth <= clients.size; depth++) {
    if (cur === client.id) return false;
    cur = clients.get(cur)?.server ?? null;
  }
  return true;
}

/**
 * The one writer of every client's `server` field, which counts the clients naming each id as
 * their server. canServe asks it before walking a relay's chain of servers: at every pairing of
 * a relay chain, that walk ran the whole chain (quadratic: a 100,000-peer chain took minutes).
 */
export class ServerLinks {
  private readonly count = new Map<string, number>();

  /** `c` now receives from `server` (null: from nobody). */
  set(c: ClientEntry, server: string | null): void {
    if (c.server === server) return;
    const old = c.server;
    if (old !== null) {
      const n = (this.count.get(old) as number) - 1;
      if (n > 0) this.count.set(old, n);
      else this.count.delete(old);
    }
    if (server !== null) this.count.set(server, (this.count.get(server) ?? 0) + 1);
    c.server = server;
  }

  /** Some client names `id` as its server. */
  named(id: string): boolean {
    return this.count.has(id);
  }
}
