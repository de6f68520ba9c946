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
): ServerEntry | null {
  let fallback: ServerEntry | null = null;
  const trustsNone = client.distrusted.size > 0 && [...s.servers].every((id) => client.distrusted.has(id));
  // The first eligible server ends the scan; the whole queue is read only when none near the
  // head may serve this client (relays downstream of it), so no free slot is ever overlooked.
  for (const id of s.serverQueue) {
    const srv = servers.get(id) as ServerEntry;
    if (!canServe(srv, client, clients)) continue;
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
export function canServe(srv: ServerEntry, client: ClientEntry, clients: ReadonlyMap<string, ClientEntry>): boolean {
  if (srv.id === client.id || srv.quarantined || srv.suspended) return false;
  if (!srv.relay) return true;
  // A relay streams what it receives: it must be a client of the session that is receiving (not
  // waiting for a server), and be ahead of the client, or the client would wait on it (DESIGN:
  // re-attach ahead).
  const self = clients.get(srv.id);
  if (!self || (self.state !== 'imaged' && (self.state !== 'transferring' || self.held < client.held))) return false;
  if (self.state !== 'imaged' && self.route?.noRelay) return false; // a slow machine relays to nobody (reroute.ts)
  // A relay must not be downstream of the client it would serve (no cycles).
  let cur: string | null = srv.id;
  for (let depth = 0; cur !== null && depth <= clients.size; depth++) {
    if (cur === client.id) return false;
    cur = clients.get(cur)?.server ?? null;
  }
  return true;
}
