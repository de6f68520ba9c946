import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  CascadeError,
  parseManifest,
  PROTOCOL_VERSION,
  type ClientMessage,
  type ClientMessageOf,
  type CoordinatorMessage,
  type Logger,
  type Manifest,
} from '@cascade/common';
import { WebSocketServer, type WebSocket } from 'ws';
import { AddressCounter } from './address-counter.js';
import { ControlConnection } from './control-connection.js';
import { checkHello } from './hello-gate.js';
import { serveHttp } from './http-endpoints.js';
import { CoordinatorMetrics } from './metrics.js';
import { maySend } from './permissions.js';
import { ServerRegistry } from './server-registry.js';
import { Scheduler } from './scheduler/scheduler.js';
import type { Decision } from './scheduler/types.js';
import { PeerBoard } from './peer-board.js';
import type { StatusSnapshot } from './status.js';
import { DEFAULT_COORDINATOR_LIMITS, type CoordinatorLimits, type CoordinatorOptions } from './coordinator-options.js';

export { DEFAULT_COORDINATOR_LIMITS, type CoordinatorLimits, type CoordinatorOptions } from './coordinator-options.js';

/**
 * The live coordinator: a ws control plane in front of the pure Scheduler, plus HTTP /status
 * and /healthz on the same port. All state is soft: peers and seeders re-announce after a
 * reconnect, so a restarted coordinator rebuilds its queues.
 */
export class Coordinator {
  readonly scheduler = new Scheduler();
  private readonly log: Logger;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly conns = new Map<string, ControlConnection>();
  private readonly sockets = new Map<WebSocket, ControlConnection>();
  private readonly manifests = new Map<string, Manifest>();
  private readonly registry: ServerRegistry;
  private readonly board = new PeerBoard();
  readonly metrics: CoordinatorMetrics;
  private readonly limits: CoordinatorLimits;
  private readonly perAddress = new AddressCounter();
  private readonly now: () => number;
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly opts: CoordinatorOptions) {
    this.log = opts.logger.child({ component: 'coordinator' });
    this.now = opts.now ?? Date.now;
    this.limits = { ...DEFAULT_COORDINATOR_LIMITS, ...opts.limits };
    this.registry = new ServerRegistry(opts.ticketTtlMs ?? 60_000, opts.quarantineAfter ?? 3);
    const statusPublic = !opts.auth?.token || opts.auth.publicStatus === true;
    this.metrics = new CoordinatorMetrics(() => this.status());
    const onRequest = (req: IncomingMessage, res: ServerResponse): void =>
      serveHttp(req, res, { status: (session) => this.status(session), metrics: this.metrics, statusPublic });
    this.http = opts.tls
      ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key }, onRequest)
      : createServer(onRequest);
    this.wss = new WebSocketServer({
      server: this.http,
      maxPayload: this.limits.maxMessageBytes,
      perMessageDeflate: false,
    });
    this.wss.on('connection', (ws, req) => this.onConnection(ws, req));
    this.wss.on('error', (err) => this.log.error({ err }, 'ws server error'));
  }

  async listen(): Promise<{ host: string; port: number; url: string }> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.opts.port, this.opts.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    const tick = setInterval(() => this.apply(this.scheduler.tick(this.now())), this.opts.tickIntervalMs ?? 500);
    const ping = setInterval(() => this.pingAll(), this.opts.pingIntervalMs ?? 10_000);
    this.timers = [tick, ping];
    const addr = this.http.address() as AddressInfo;
    this.log.info({ host: addr.address, port: addr.port }, 'coordinator listening');
    const scheme = this.opts.tls ? 'wss' : 'ws';
    return { host: addr.address, port: addr.port, url: `${scheme}://${addr.address}:${addr.port}` };
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const c of this.conns.values()) c.ws.terminate();
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  status(session?: string): StatusSnapshot {
    return this.board.snapshot(this.scheduler, this.manifests, this.now(), session);
  }

  // ---- connections -----------------------------------------------------------------------

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const remote = { address: req.socket.remoteAddress ?? '?', port: req.socket.remotePort ?? 0 };
    const conn = new ControlConnection(ws, remote, this.limits, this.log, (c, m) => this.onMessage(c, m));
    ws.on('error', (err) => this.log.debug({ err, remote: conn.remote }, 'control socket error'));
    const { maxConnections, maxConnectionsPerAddress } = this.limits;
    const refusal =
      this.wss.clients.size > maxConnections
        ? `coordinator holds its maximum of ${maxConnections} connections`
        : this.perAddress.get(conn.address) >= maxConnectionsPerAddress
          ? `${conn.address} holds its maximum of ${maxConnectionsPerAddress} connections`
          : null;
    if (refusal) {
      conn.fail(new CascadeError('ERR_TOO_MANY_CONNECTIONS', refusal));
      return;
    }
    this.perAddress.add(conn.address);
    this.sockets.set(ws, conn);
    ws.on('close', () => {
      this.perAddress.remove(conn.address);
      this.sockets.delete(ws);
      this.onClose(conn);
    });
    conn.send({ type: 'challenge', nonce: conn.nonce, auth: this.opts.auth?.token !== undefined });
  }

  private pingAll(): void {
    for (const [ws, conn] of this.sockets) {
      if (!conn.alive) {
        this.log.warn({ peer: conn.identity?.name }, 'no pong; dropping connection');
        ws.terminate();
        continue;
      }
      conn.alive = false;
      ws.ping();
    }
  }

  private onClose(conn: ControlConnection): void {
    conn.dispose();
    const id = conn.identity;
    if (!id || this.conns.get(id.id) !== conn) return;
    this.conns.delete(id.id);
    const now = this.now();
    if (this.scheduler.getServer(id.id)) {
      this.log.warn({ peer: id.name, id: id.id }, 'server lost');
      this.board.warn(now, 'server-lost', `${id.name} disconnected`);
      this.metrics.serverLost(this.scheduler.getServer(id.id)!.session);
      this.apply(this.scheduler.removeServer(id.id, now));
    }
    const client = this.scheduler.getClient(id.id);
    const imaged = client?.state === 'imaged';
    if (client && !imaged) this.apply(this.scheduler.removeClient(id.id, now));
    this.board.left(id.id, imaged);
  }

  private onMessage(conn: ControlConnection, msg: ClientMessage): void {
    if (msg.type === 'hello') return this.onHello(conn, msg);
    const who = conn.identity as NonNullable<ControlConnection['identity']>;
    if (!maySend(who.role, msg.type)) {
      conn.reject(new CascadeError('ERR_ROLE_FORBIDDEN', `a ${who.role} may not send ${msg.type}`));
      return;
    }
    const now = this.now();
    switch (msg.type) {
      case 'open-session':
        return this.onOpenSession(conn, msg, now);
      case 'serve':
        return this.onServe(conn, msg, now);
      case 'want':
        return this.onWant(conn, msg, now);
      case 'progress': {
        const fresh = this.board.progress(who.id, msg.slices, msg.bytes, msg.rate, now);
        this.metrics.progressed(who.session ?? '', fresh);
        this.scheduler.noteHeld(who.id, msg.slices);
        return;
      }
      case 'done':
        return this.onDone(conn, msg, now);
      case 'failed':
        return this.onFailed(conn, msg, now);
      case 'leave':
        return this.onLeave(who, msg.reason, now);
      case 'start-session':
      case 'end-session':
      case 'set-session':
        return this.onOperator(conn, msg, now);
      case 'get-status':
        conn.send({ type: 'status', status: this.status(msg.session) as unknown as Record<string, unknown> });
        return;
    }
  }

  private onHello(conn: ControlConnection, msg: ClientMessageOf<'hello'>): void {
    const refusal = checkHello(msg, conn.nonce, this.opts.auth ?? {});
    if (refusal) {
      conn.fail(refusal);
      return;
    }
    const old = this.conns.get(msg.id);
    if (old && old !== conn) {
      this.conns.delete(msg.id);
      old.ws.close(1000, 'replaced');
    }
    conn.welcomed({ id: msg.id, name: msg.name, role: msg.role, session: msg.session });
    this.conns.set(msg.id, conn);
    conn.send({ type: 'welcome', protocol: PROTOCOL_VERSION, id: msg.id });
    this.log.info({ peer: msg.name, id: msg.id, role: msg.role, session: msg.session, remote: conn.remote }, 'hello');
    if (msg.role === 'peer' && msg.session) {
      this.board.joined(msg.id, msg.name, msg.session, this.now());
      this.sendSession(conn, msg.session);
    }
  }

  /** Tell a peer about its session's image, if the session is open. */
  private sendSession(conn: ControlConnection, name: string): void {
    const s = this.scheduler.getSession(name);
    const manifest = this.manifests.get(name);
    if (!s || !manifest || s.state === 'pending') return;
    if (s.state === 'ended') {
      conn.send({ type: 'session-ended', session: name, reason: s.endReason ?? 'ended' });
      return;
    }
    conn.send({ type: 'session', session: name, manifest: { ...manifest }, options: s.options });
  }

  private onOpenSession(conn: ControlConnection, msg: ClientMessageOf<'open-session'>, now: number): void {
    const who = conn.identity!;
    const session = who.session!; // seeders and peers name their session at hello
    const manifest = parseManifest(msg.manifest);
    const s = this.scheduler.getSession(session);
    const current = this.manifests.get(session);
    if (s && current && s.state !== 'ended' && s.state !== 'pending' && current.imageId !== manifest.imageId) {
      conn.reject(new CascadeError('ERR_SESSION_EXISTS', `session ${session} is open with image ${current.imageId}`));
      return;
    }
    const reopened = s?.state === 'ended';
    this.manifests.set(session, manifest);
    this.log.info(
      {
        session: session,
        image: manifest.name,
        imageId: manifest.imageId,
        size: manifest.size,
        options: msg.options,
      },
      reopened ? 'session re-opened' : 'session opened',
    );
    this.apply(
      this.scheduler.openSession(
        session,
        { imageId: manifest.imageId, size: manifest.size, name: manifest.name },
        msg.options,
        now,
      ),
    );
    conn.send({ type: 'ack', of: 'open-session', session: session });
    for (const c of this.conns.values()) {
      if (c.identity?.role === 'peer' && c.identity.session === session) this.sendSession(c, session);
    }
  }

  private onServe(conn: ControlConnection, msg: ClientMessageOf<'serve'>, now: number): void {
    const who = conn.identity!;
    const session = who.session!; // seeders and peers name their session at hello
    const s = this.scheduler.getSession(session);
    if (!s || s.state === 'pending' || s.state === 'ended') {
      conn.reject(new CascadeError('ERR_UNKNOWN_SESSION', `session ${session} is not open`));
      return;
    }
    const key = this.registry.register(who.id, msg.host, msg.port);
    this.board.serving(who.id, who.name, session, `${msg.host}:${msg.port}`, now);
    conn.send({ type: 'serving', serverId: who.id, ticketKey: key });
    this.log.info(
      {
        server: who.name,
        id: who.id,
        host: msg.host,
        port: msg.port,
        capacity: msg.capacity,
        relay: msg.relay ?? false,
      },
      'server ready',
    );
    this.apply(this.scheduler.addServer(session, who.id, msg.capacity, now, { relay: msg.relay ?? false }));
  }

  private onWant(conn: ControlConnection, msg: ClientMessageOf<'want'>, now: number): void {
    const who = conn.identity!;
    const session = who.session!; // seeders and peers name their session at hello
    const s = this.scheduler.getSession(session);
    if (s?.state === 'ended') {
      conn.send({ type: 'session-ended', session: session, reason: s.endReason ?? 'ended' });
      return;
    }
    if (msg.activeServer) {
      this.log.info({ peer: who.name, server: msg.activeServer, have: msg.have }, 'transfer re-announced');
      this.apply(this.scheduler.resumeTransfer(session, who.id, msg.activeServer, now));
      return;
    }
    this.log.info({ peer: who.name, session: session, have: msg.have }, 'client waiting');
    this.apply(this.scheduler.enqueueClient(session, who.id, now, { held: msg.have }));
  }

  private onDone(conn: ControlConnection, msg: ClientMessageOf<'done'>, now: number): void {
    const who = conn.identity!;
    const server = this.peerName(msg.server);
    this.log.info({ peer: who.name, server, bytes: msg.bytes, ms: msg.ms }, 'finished');
    const m = who.session ? this.manifests.get(who.session) : undefined;
    if (m && msg.server !== 'reused') {
      // the bytes since the peer's last progress report: credited to its server and the metrics
      this.metrics.progressed(who.session!, this.board.progress(who.id, m.digests.length, m.size, 0, now));
    }
    this.board.update(who.id, { doneAt: now, servedBy: server });
    this.metrics.transfer(who.session ?? '', 'done');
    if (msg.badSlices) {
      this.board.warn(now, 'ERR_SLICE_DIGEST_MISMATCH', `${who.name} got ${msg.badSlices} bad slices from ${server}`);
      this.badSlicesFrom(msg.server, msg.badSlices, who.session ?? '', now);
    }
    this.apply(this.scheduler.transferDone(who.id, now, who.session));
  }

  /** A peer stops (signal, local fault): it serves no more and fetches no more. */
  private onLeave(who: { id: string; name: string }, reason: string, now: number): void {
    this.log.info({ peer: who.name, reason }, 'peer leaving');
    if (this.scheduler.getServer(who.id)) this.board.warn(now, 'server-left', `${who.name} left (${reason})`);
    this.apply(this.scheduler.removeServer(who.id, now));
    const client = this.scheduler.getClient(who.id);
    if (client && client.state !== 'imaged') this.apply(this.scheduler.removeClient(who.id, now));
  }

  private onFailed(conn: ControlConnection, msg: ClientMessageOf<'failed'>, now: number): void {
    const who = conn.identity!;
    const server = this.peerName(msg.server);
    this.log.warn(
      { peer: who.name, server, code: msg.code, reason: msg.reason, badSlices: msg.badSlices },
      'transfer failed',
    );
    this.board.warn(now, msg.code, `${who.name} from ${server}: ${msg.reason}`);
    if (msg.code === 'ERR_TARGET_UNUSABLE') {
      // The client's own disk failed, not the server: it leaves the queues, nobody is blamed.
      this.metrics.transfer(who.session ?? '', 'failed');
      this.apply(this.scheduler.removeClient(who.id, now));
      return;
    }
    this.metrics.transfer(who.session ?? '', 'failed');
    this.badSlicesFrom(msg.server, msg.badSlices.length, who.session ?? '', now);
    // A full server (its own code, sent back as remoteCode) is not avoided: it frees a slot soon.
    const full = (msg.remoteCode ?? msg.code) === 'ERR_SERVER_FULL';
    this.apply(this.scheduler.transferFailed(who.id, now, { avoidServer: !full }));
  }

  /** Count bad slices a client reported against a server; quarantine it after too many. */
  private badSlicesFrom(serverId: string, count: number, session: string, now: number): void {
    this.metrics.digestMismatches(session, count);
    const bad = this.registry.reportBadSlices(serverId, count);
    if (!bad.quarantine) return;
    const server = this.peerName(serverId);
    this.log.warn({ server, badSlices: bad.total }, 'server quarantined');
    this.board.warn(now, 'quarantined', `${server} sent ${bad.total} bad slices`);
    this.scheduler.quarantineServer(serverId);
  }

  private onOperator(
    conn: ControlConnection,
    msg: ClientMessageOf<'start-session' | 'end-session' | 'set-session'>,
    now: number,
  ): void {
    const who = conn.identity!;
    const s = this.scheduler.getSession(msg.session);
    if (!s || s.state === 'pending') {
      conn.reject(new CascadeError('ERR_UNKNOWN_SESSION', `no session named "${msg.session}" is open`));
      return;
    }
    this.log.info({ operator: who.name, command: msg.type, session: msg.session }, 'operator command');
    if (msg.type === 'start-session') this.apply(this.scheduler.startSession(msg.session, now));
    else if (msg.type === 'end-session') this.apply(this.scheduler.endSession(msg.session, now, 'operator'));
    else this.apply(this.scheduler.setOptions(msg.session, msg.options, now));
    conn.send({ type: 'ack', of: msg.type, session: msg.session });
  }

  // ---- decisions -----------------------------------------------------------------------------

  private apply(decisions: Decision[]): void {
    for (const d of decisions) {
      switch (d.kind) {
        case 'assign':
          this.assign(d.session, d.client, d.server, d.at);
          break;
        case 'queued':
          this.conns.get(d.client)?.send({ type: 'queued', position: d.position });
          break;
        case 'started':
          this.log.info({ session: d.session, reason: d.reason }, 'session started');
          break;
        case 'ended':
          this.log.info(
            { session: d.session, reason: d.reason, imaged: this.scheduler.getSession(d.session)?.imaged },
            'session ended',
          );
          this.broadcast(d.session, { type: 'session-ended', session: d.session, reason: d.reason });
          break;
      }
    }
  }

  private assign(session: string, client: string, server: string, now: number): void {
    const manifest = this.manifests.get(session);
    const conn = this.conns.get(client);
    const address = this.registry.address(server);
    const ticket = manifest && this.registry.ticket(server, { session, imageId: manifest.imageId, client }, now);
    if (!address || !ticket || !conn) {
      // Cannot reach one side: undo, and let the scheduler hand the client out again.
      this.log.warn({ client, server }, 'assignment could not be delivered');
      this.apply(conn ? this.scheduler.transferFailed(client, now) : this.scheduler.removeClient(client, now));
      return;
    }
    const serverName = this.peerName(server);
    conn.send({ type: 'assign', server: { id: server, name: serverName, ...address }, ticket });
    this.board.update(client, { server: serverName, serverId: server, assignedAt: now });
    this.metrics.transfer(session, 'assigned');
    this.log.info({ session, client: conn.identity?.name, server: serverName }, 'assigned');
  }

  private broadcast(session: string, msg: CoordinatorMessage): void {
    for (const c of this.conns.values()) if (c.identity?.session === session) c.send(msg);
  }

  private peerName(id: string): string {
    return this.conns.get(id)?.identity?.name ?? this.board.name(id) ?? id;
  }
}
