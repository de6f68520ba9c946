import type { SessionOptions } from '@cascade/common';
import {
  endSession as markEnded,
  lingerEnd,
  freshSessionState,
  newClientEntry,
  newServerEntry,
  newSessionEntry,
  requeueServer,
  sessionDeadline,
  endCountReached,
  markResumed,
  startReason,
  startSession as markStarted,
} from './session-entry.js';
import type { ClientEntry, Decision, EndReason, FailedOptions, ImageInfo, ServerEntry, SessionEntry } from './types.js';
import { pickServer, ServerLinks } from './server-choice.js';
import { Reroute } from './reroute.js';
import { DEFAULT_PENDING_LIMITS, PendingSessions, type PendingLimits } from './pending-sessions.js';

/**
 * scheduler/ owns the pairing, and who serves each client (`ClientEntry.server`, its one record).
 * The pure scheduler: sessions, a FIFO queue of servers with free slots and a FIFO queue of
 * waiting clients per session, and the pairing between them. No I/O and no clock: every call
 * takes `now` and returns the decisions it made. The live coordinator and the simulator both
 * drive this very class.
 *
 * Pairing: the head client is paired with the head server; a server that still has a free slot
 * after an assignment goes to the tail (so load spreads over servers), and so does a server
 * whose slot frees. Clients that lost their server rejoin at the head.
 */
export class Scheduler {
  private readonly sessions = new Map<string, SessionEntry>();
  private readonly servers = new Map<string, ServerEntry>();
  private readonly clients = new Map<string, ClientEntry>();
  /** Server id → clients that re-announced a transfer from it before it re-registered (restart). */
  private readonly awaitingServer = new Map<string, Set<string>>();
  /** Sessions named before any seeder opened them: capped per address and in total, and expiring. */
  private readonly pending: PendingSessions;
  private readonly links = new ServerLinks(); // the one writer of every client's `server` (server-choice.ts)
  /** Routing around slow machines: rates in, moves out (reroute.ts). */
  private readonly reroute = new Reroute(this.clients, this.servers, this.links);

  constructor(opts: { pending?: Partial<PendingLimits> } = {}) {
    this.pending = new PendingSessions({ ...DEFAULT_PENDING_LIMITS, ...opts.pending });
  }

  // ---- sessions -------------------------------------------------------------------------

  /**
   * Open (or re-open after it ended) a session with its image and options. `started`: its seeder
   * says it had started before this coordinator (re)started, so it runs at once, whatever its gate.
   */
  openSession(name: string, image: ImageInfo, options: SessionOptions, now: number, started = false): Decision[] {
    const s = this.session(name);
    if (s.state === 'ended') this.resetSession(s);
    if (started) markResumed(s, now);
    s.image = image;
    s.options = { ...options };
    this.pending.forget(name);
    if (s.state === 'pending') {
      s.state = 'waiting';
      s.openedAt = now;
    }
    return this.evaluate(s, now);
  }

  /** Change gating while the session waits (or end conditions while it runs). */
  setOptions(name: string, options: SessionOptions, now: number): Decision[] {
    const s = this.mustSession(name);
    s.options = { ...s.options, ...options };
    return this.evaluate(s, now);
  }

  startSession(name: string, now: number): Decision[] {
    const s = this.mustSession(name);
    if (s.state !== 'waiting') return [];
    return [markStarted(s, 'operator', now, this.joinedAt), ...this.pair(s, now)];
  }

  endSession(name: string, now: number, reason: EndReason = 'operator'): Decision[] {
    const s = this.mustSession(name);
    if (s.state === 'ended') return [];
    return [markEnded(s, reason, now)];
  }

  /** Forget an ended session entirely. */
  dropSession(name: string): void {
    const s = this.sessions.get(name);
    if (!s) return;
    this.resetSession(s);
    this.sessions.delete(name);
    this.pending.forget(name);
  }

  getSession = (name: string): SessionEntry | undefined => this.sessions.get(name);
  sessionNames = (): string[] => [...this.sessions.keys()];
  getServer = (id: string): ServerEntry | undefined => this.servers.get(id);
  getClient = (id: string): ClientEntry | undefined => this.clients.get(id);

  // ---- servers --------------------------------------------------------------------------

  /** A server (seeder or imaged peer) offers `capacity` slots. Re-adding updates capacity. */
  addServer(session: string, id: string, capacity: number, now: number, opts: { relay?: boolean } = {}): Decision[] {
    const s = this.session(session);
    let srv = this.servers.get(id);
    if (srv && srv.session !== session) {
      this.removeServer(id, now);
      srv = undefined;
    }
    if (!srv) {
      srv = newServerEntry(session, id, capacity, now);
      this.servers.set(id, srv);
      s.servers.add(id);
      // Transfers re-announced before their server (after a coordinator restart) hold its slots.
      for (const cid of this.awaitingServer.get(id) ?? []) {
        const c = this.clients.get(cid);
        if (c?.state === 'transferring' && c.server === id) srv.clients.add(cid);
      }
      this.awaitingServer.delete(id);
    }
    Object.assign(srv, { capacity, relay: opts.relay ?? false });
    requeueServer(s, srv);
    return this.evaluate(s, now);
  }

  /**
   * A server is gone. It leaves the server queue; its clients' transfers stay recorded until
   * each client reports (failed → head of the queue) or leaves, because a data connection may
   * outlive a control connection.
   */
  removeServer(id: string, now: number): Decision[] {
    const srv = this.servers.get(id);
    if (!srv) return [];
    const s = this.mustSession(srv.session);
    s.serverQueue.remove(id);
    s.servers.delete(id);
    this.servers.delete(id);
    return this.evaluate(s, now);
  }

  /** Stop giving this server new clients (it sent bad slices). */
  quarantineServer(id: string): void {
    const srv = this.servers.get(id);
    if (!srv) return;
    srv.quarantined = true;
    this.sessions.get(srv.session)?.serverQueue.remove(id);
  }

  /**
   * Hold a server back from new clients while its clients report it unreachable (its running
   * transfers go on), or give it clients again.
   */
  suspendServer(id: string, suspended: boolean, now: number): Decision[] {
    const srv = this.servers.get(id);
    if (!srv || srv.suspended === suspended) return [];
    srv.suspended = suspended;
    const s = this.mustSession(srv.session);
    if (suspended) s.serverQueue.remove(id);
    else requeueServer(s, srv);
    return suspended ? [] : this.evaluate(s, now);
  }

  // ---- clients --------------------------------------------------------------------------

  /**
   * A client wants the image. `front` puts it at the head (it lost its server). `address` (the
   * client's remote IP) counts a session it names that nobody opened against the per-address cap.
   * `joinedAt` (its machine's hello; default now) orders the queue when a waiting session starts.
   */
  enqueueClient(
    session: string,
    id: string,
    now: number,
    opts: { front?: boolean; held?: number; address?: string; joinedAt?: number } = {},
  ): Decision[] {
    const refused = this.admitPending(session, id, opts.address, now);
    if (refused) return [refused];
    const s = this.session(session);
    const existing = this.clients.get(id);
    if (existing && existing.session !== session) this.removeClient(id, now);
    let c = this.clients.get(id);
    if (c?.state === 'transferring') this.releaseTransfer(c, now);
    c ??= this.addClient(s, id, now);
    c.state = 'queued';
    this.links.set(c, null);
    c.since = now;
    if (opts.held !== undefined) c.held = opts.held;
    if (opts.joinedAt !== undefined) c.joinedAt = opts.joinedAt;
    if (opts.front) s.clientQueue.pushFront(id);
    else s.clientQueue.pushBack(id);
    const position = opts.front ? 0 : s.clientQueue.size - 1;
    const out: Decision[] = [{ kind: 'queued', session, client: id, position }];
    return out.concat(this.evaluate(s, now));
  }

  /** A client reported how many slices it holds verified (progress). No decision follows. */
  noteHeld(id: string, held: number): void {
    const c = this.clients.get(id);
    if (c) c.held = held;
  }

  /** A client's receive rate in bytes/s (progress); tick() may move it, or others, on it. */
  noteRate(id: string, bytesPerSec: number, now: number): void {
    const c = this.clients.get(id);
    if (c) this.reroute.noteRate(this.mustSession(c.session), c, bytesPerSec, now);
  }

  /**
   * Record a transfer already running (a client re-announcing after a coordinator restart):
   * no new assignment, the server's slot is taken.
   */
  resumeTransfer(session: string, clientId: string, serverId: string, now: number, address?: string): Decision[] {
    const refused = this.admitPending(session, clientId, address, now);
    if (refused) return [refused];
    const s = this.session(session);
    const srv = this.servers.get(serverId);
    if (srv && srv.session !== session) return this.enqueueClient(session, clientId, now, { front: true });
    let c = this.clients.get(clientId);
    c ??= this.addClient(s, clientId, now);
    s.clientQueue.remove(clientId);
    if (c.state === 'transferring') this.releaseTransfer(c, now);
    if (!srv) {
      // The server has not re-announced itself yet (a restarted coordinator): record the
      // transfer; addServer adopts it. If the server is really gone the client reports failed.
      this.bind(s, c, null, serverId, now);
      const waiting = this.awaitingServer.get(serverId) ?? new Set<string>();
      waiting.add(clientId);
      this.awaitingServer.set(serverId, waiting);
      return this.evaluate(s, now);
    }
    this.bind(s, c, srv, srv.id, now);
    if (srv.clients.size >= srv.capacity) s.serverQueue.remove(serverId);
    return this.evaluate(s, now);
  }

  /** The client is gone (disconnected for good, or left); `uncount`: an imaged one no longer counts (an ended session's count is final). */
  removeClient(id: string, now: number, opts: { uncount?: boolean } = {}): Decision[] {
    const c = this.clients.get(id);
    if (!c) return [];
    const s = this.mustSession(c.session);
    if (c.state === 'transferring') this.releaseTransfer(c, now);
    if (c.state === 'imaged' && opts.uncount && s.state !== 'ended') s.imaged--;
    s.clientQueue.remove(id);
    s.clients.delete(id);
    this.clients.delete(id);
    return this.evaluate(s, now);
  }

  /**
   * The client holds the whole verified image. Its server's slot frees. With `session`, an
   * unknown client is recorded as imaged (re-announced after a coordinator restart).
   */
  transferDone(id: string, now: number, session?: string, address?: string): Decision[] {
    let c = this.clients.get(id);
    if (!c && session !== undefined) {
      const refused = this.admitPending(session, id, address, now);
      if (refused) return [refused];
      // An imaged peer re-announcing to a restarted coordinator: count it again.
      c = this.addClient(this.session(session), id, now);
    }
    if (!c) return [];
    const s = this.mustSession(c.session);
    s.clientQueue.remove(id);
    const finished = c.state === 'transferring'; // a progression point (not a re-announce or a claim)
    if (finished) {
      const srv = c.server ? this.servers.get(c.server) : undefined;
      if (srv) srv.served++;
      this.releaseTransfer(c, now);
    }
    if (c.state !== 'imaged') {
      c.state = 'imaged';
      s.imaged++;
      if (finished) s.progression.push({ at: now, imaged: s.imaged });
    }
    this.links.set(c, null);
    return this.evaluate(s, now);
  }

  /** The client's transfer failed (server lost, bad slices): it rejoins at the head (`back`: its server dropped it). */
  transferFailed(id: string, now: number, opts: FailedOptions = {}): Decision[] {
    const c = this.clients.get(id);
    if (!c) return [];
    if (opts.avoidServer && c.server) c.avoid.add(c.server);
    if (opts.distrust && c.server) c.distrusted.add(c.server);
    return this.enqueueClient(c.session, id, now, { front: opts.back !== true });
  }

  // ---- time -------------------------------------------------------------------------------

  /** Advance time: start timers and linger; move transfers off slow machines (assign with move). */
  tick(now: number): Decision[] {
    for (const name of this.pending.expired(this.sessions, now)) this.dropSession(name);
    const out: Decision[] = [];
    for (const s of this.sessions.values()) out.push(...this.reroute.decide(s, now), ...this.evaluate(s, now));
    return out;
  }

  /** Earliest future time at which tick() could decide something (for the simulator). */
  nextDeadline(): number | null {
    let best: number | null = null;
    for (const s of this.sessions.values()) {
      const t = sessionDeadline(s);
      if (t !== null && (best === null || t < best)) best = t;
    }
    return best;
  }

  // ---- internals ---------------------------------------------------------------------------

  private session(name: string): SessionEntry {
    let s = this.sessions.get(name);
    if (!s) {
      s = newSessionEntry(name);
      this.sessions.set(name, s);
      this.pending.created(name, undefined, null);
    }
    return s;
  }

  /** Null when `session` exists or may be created pending for `address`; else the refusal. */
  private admitPending(session: string, client: string, address: string | undefined, now: number): Decision | null {
    return this.sessions.has(session) ? null : this.pending.admit(session, client, address, now);
  }

  /** When a client's machine joined (its queue order when a waiting session starts). */
  private readonly joinedAt = (id: string): number => this.clients.get(id)?.joinedAt ?? Infinity;

  private addClient(s: SessionEntry, id: string, now: number): ClientEntry {
    const c = newClientEntry(s.name, id, now);
    this.clients.set(id, c);
    s.clients.add(id);
    return c;
  }

  private mustSession(name: string): SessionEntry {
    const s = this.sessions.get(name);
    if (!s) throw new Error(`unknown session ${name}`);
    return s;
  }

  private resetSession(s: SessionEntry): void {
    for (const id of s.servers) this.servers.delete(id);
    for (const id of s.clients) this.links.set(this.clients.get(id) as ClientEntry, null);
    for (const id of s.clients) this.clients.delete(id);
    Object.assign(s, freshSessionState());
  }

  /** Start if a gate opened, pair, and check linger. */
  private evaluate(s: SessionEntry, now: number): Decision[] {
    const out: Decision[] = [];
    if (s.state === 'waiting') {
      const reason = startReason(s, now);
      if (reason) out.push(markStarted(s, reason, now, this.joinedAt));
    }
    if (s.state !== 'running') return out;
    if (endCountReached(s)) return [...out, markEnded(s, 'end-count', now)];
    out.push(...this.pair(s, now));
    const lingered = lingerEnd(s, now);
    return lingered ? [...out, lingered] : out;
  }

  /** Pair head clients with head servers while both queues hold someone. */
  private pair(s: SessionEntry, now: number): Decision[] {
    const out: Decision[] = [];
    let guard = s.clientQueue.size + s.serverQueue.size + 1;
    while (s.clientQueue.size > 0 && s.serverQueue.size > 0 && guard-- > 0) {
      const client = this.clients.get(s.clientQueue.peek() as string) as ClientEntry;
      const srv = pickServer(s, client, this.servers, this.clients, this.links);
      if (!srv) break;
      s.clientQueue.shift();
      this.bind(s, client, srv, srv.id, now);
      out.push({ kind: 'assign', session: s.name, client: client.id, server: srv.id, at: now });
      if (srv.clients.size < srv.capacity) s.serverQueue.pushBack(srv.id);
    }
    return out;
  }

  private bind(s: SessionEntry, c: ClientEntry, srv: ServerEntry | null, serverId: string, now: number): void {
    c.state = 'transferring';
    this.links.set(c, serverId);
    c.since = now;
    srv?.clients.add(c.id);
    s.transfers++;
  }

  private releaseTransfer(c: ClientEntry, now: number): void {
    const s = this.mustSession(c.session);
    s.transfers = Math.max(0, s.transfers - 1);
    const srv = c.server ? this.servers.get(c.server) : undefined;
    this.links.set(c, null);
    c.state = 'queued';
    c.since = now;
    if (srv) {
      srv.clients.delete(c.id);
      requeueServer(s, srv);
    }
  }
}
