import { KeyedQueue } from './keyed-queue.js';
import type { ClientEntry, Decision, EndReason, ServerEntry, SessionEntry } from './types.js';

type Resettable = Omit<SessionEntry, 'name' | 'options'>;

/** Everything a session holds between one opening and the next (a re-open starts from this). */
export function freshSessionState(): Resettable {
  return {
    state: 'pending',
    image: null,
    openedAt: null,
    startedAt: null,
    resumed: false,
    endedAt: null,
    endReason: null,
    imaged: 0,
    clientQueue: new KeyedQueue(),
    serverQueue: new KeyedQueue(),
    servers: new Set(),
    clients: new Set(),
    transfers: 0,
    idleSince: null,
    progression: [],
    bestRate: null,
    headProbes: 0,
    probeRef: null,
  };
}

export function newSessionEntry(name: string): SessionEntry {
  return { name, options: {}, ...freshSessionState() };
}

/**
 * Why a waiting session may start now, or null: it had started before a coordinator restart
 * (never gated again), or the COUNT= / WAIT= / keyboard gates.
 */
export function startReason(s: SessionEntry, now: number): 'resumed' | 'immediate' | 'count' | 'timer' | null {
  const o = s.options;
  if (s.resumed) return 'resumed';
  if (o.startManual) return null;
  const gated = o.startCount !== undefined || o.startAfterMs !== undefined;
  if (!gated) return 'immediate';
  if (o.startCount !== undefined && s.clientQueue.size >= o.startCount) return 'count';
  if (o.startAfterMs !== undefined && s.openedAt !== null && now - s.openedAt >= o.startAfterMs) return 'timer';
  return null;
}

/**
 * How long a session resumed after a coordinator restart is not counted idle while nobody is back
 * yet: the roles' longest reconnect backoff (control-client.ts), so `--linger` cannot end it
 * before its peers have re-announced.
 */
export const RESUME_GRACE_MS = 10_000;

/** The session had started before this coordinator (re)started: it runs at once, never gated again. */
export function markResumed(s: SessionEntry, now: number): void {
  s.resumed = true;
  if (s.state !== 'running') s.idleSince = now + RESUME_GRACE_MS;
}

/** The session has imaged the machines its --end-count asks for. */
export function endCountReached(s: SessionEntry): boolean {
  const n = s.options.endCount;
  return n !== undefined && n > 0 && s.imaged >= n;
}

/** The next moment a timer (start-after or linger) of this session comes due, or null. */
export function sessionDeadline(s: SessionEntry): number | null {
  const o = s.options;
  if (s.state === 'waiting' && o.startAfterMs !== undefined && !o.startManual && s.openedAt !== null) {
    return s.openedAt + o.startAfterMs;
  }
  if (s.state === 'running' && o.lingerMs !== undefined && s.idleSince !== null) return s.idleSince + o.lingerMs;
  return null;
}

/** The session runs from now. */
export function startSession(
  s: SessionEntry,
  reason: Extract<Decision, { kind: 'started' }>['reason'],
  now: number,
  joinedAt: (id: string) => number,
): Decision {
  // Its clients queued in the order their answers to the opening came in (a race of machines);
  // FIFO means the order they joined in.
  s.clientQueue.sortStable((a, b) => joinedAt(a) - joinedAt(b));
  s.state = 'running';
  s.startedAt = now;
  return { kind: 'started', session: s.name, reason, at: now };
}

/** The session ends: both queues are emptied. */
export function endSession(s: SessionEntry, reason: EndReason, now: number): Decision {
  s.state = 'ended';
  s.endedAt = now;
  s.endReason = reason;
  s.clientQueue = new KeyedQueue();
  s.serverQueue = new KeyedQueue();
  return { kind: 'ended', session: s.name, reason, at: now };
}

/** A client that just joined a session's queue. */
export function newClientEntry(session: string, id: string, now: number): ClientEntry {
  const fresh = { state: 'queued' as const, server: null, since: now, joinedAt: now, held: 0 };
  return { id, session, ...fresh, avoid: new Set(), distrusted: new Set() };
}

/** A server entry with `capacity` slots and no client yet. */
export function newServerEntry(session: string, id: string, capacity: number, now: number): ServerEntry {
  return {
    ...{ id, session, capacity, clients: new Set<string>(), relay: false },
    ...{ quarantined: false, suspended: false, served: 0, since: now },
  };
}

/** A server with a free slot is in the session's server queue (at the tail), a full or held one is not. */
export function requeueServer(s: SessionEntry, srv: ServerEntry): void {
  const held = srv.quarantined || srv.suspended;
  if (!held && srv.clients.size < srv.capacity && s.state !== 'ended') s.serverQueue.pushBack(srv.id);
  if (srv.clients.size >= srv.capacity) s.serverQueue.remove(srv.id);
}
