import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { CascadeError, type ClientMessage, type Logger } from '@cascade/common';
// ws through its CommonJS entry (see @cascade/common/ws): faster to load than `from 'ws'`.
import ws from '@cascade/common/ws';
import type { WebSocket, WebSocketServer } from 'ws';
import { ConnectionSet } from './net/connections.js';
import { ControlConnection } from './net/control-connection.js';
import {
  COORDINATOR_DEFAULTS,
  DEFAULT_COORDINATOR_LIMITS,
  type CoordinatorLimits,
  type CoordinatorOptions,
} from './coordinator-options.js';
import { CoordinatorState } from './coordinator-state.js';
import type { HandlerContext } from './handlers/context.js';
import { dispatch } from './handlers/dispatch.js';
import { onClosed } from './handlers/closed.js';
import { onHello } from './handlers/session-handlers.js';
import { serveHttp } from './net/http-endpoints.js';
import { guardHttpSockets, HTTP_CHECK_INTERVAL_MS } from './net/http-sockets.js';
import type { CoordinatorMetrics } from './status/metrics.js';
import type { Scheduler } from './scheduler/scheduler.js';
import type { StatusSnapshot } from './status/status.js';

/** Close codes of a link its member closed on purpose (1005: closed without a code). */
const CLEAN_CLOSE: ReadonlySet<number> = new Set([1000, 1001, 1005]);

export {
  COORDINATOR_DEFAULTS,
  DEFAULT_COORDINATOR_LIMITS,
  type CoordinatorLimits,
  type CoordinatorOptions,
  type CoordinatorSettings,
} from './coordinator-options.js';

/**
 * The live coordinator: a ws control plane (net/) in front of the pure Scheduler (scheduler/),
 * plus HTTP /status and /healthz on the same port. One Member record per member (members/), one
 * record per session (sessions/); messages are handled in handlers/, and every decision becomes
 * messages, board updates, metrics and logs in one place (decisions/).
 * All state is soft: peers and seeders re-announce after a reconnect, so a restarted coordinator
 * rebuilds its queues.
 */
export class Coordinator {
  readonly scheduler: Scheduler;
  readonly metrics: CoordinatorMetrics;
  private readonly state: CoordinatorState;
  private readonly log: Logger;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly limits: CoordinatorLimits;
  private readonly connections: ConnectionSet;
  private readonly ctx: HandlerContext;
  private readonly now: () => number;
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly opts: CoordinatorOptions) {
    this.log = opts.logger.child({ component: 'coordinator' });
    this.now = opts.now ?? Date.now;
    this.limits = { ...DEFAULT_COORDINATOR_LIMITS, ...opts.limits };
    this.connections = new ConnectionSet(this.limits, this.log);
    const { ticketTtlMs, quarantineAfter, quarantineReporters, unreachable } = opts;
    const auth = opts.auth ?? {};
    this.state = new CoordinatorState({
      log: this.log,
      now: this.now,
      auth,
      ticketTtlMs,
      quarantineAfter,
      quarantineReporters,
      unreachable,
    });
    this.scheduler = this.state.scheduler;
    this.metrics = this.state.metrics;
    this.ctx = this.state.ctx;
    const metrics = this.metrics;
    const statusPublic = !auth.token || auth.publicStatus === true;
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      const sources = { status: (s?: string) => this.status(s), metrics, statusPublic };
      const served = this.guarded('http', () => serveHttp(req, res, sources))();
      if (!served && !res.headersSent) res.writeHead(500).end('internal error\n');
    };
    const checking = { connectionsCheckingInterval: HTTP_CHECK_INTERVAL_MS };
    this.http = opts.tls
      ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key, ...checking }, onRequest)
      : createServer(checking, onRequest);
    guardHttpSockets(this.http, this.limits.maxConnectionsPerAddress, this.log);
    this.wss = new ws.WebSocketServer({
      server: this.http,
      // every connection starts at the hello size; ControlConnection.welcomed raises its own
      maxPayload: Math.min(this.limits.maxHelloBytes, this.limits.maxMessageBytes),
      maxFragments: 1024,
      perMessageDeflate: false,
    });
    this.wss.on('connection', (ws, req) => {
      if (!this.guarded('connection', () => this.onConnection(ws, req))()) ws.terminate();
    });
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
    const tick = this.guarded('tick', () => this.state.tick());
    this.timers = [
      setInterval(tick, this.opts.tickIntervalMs ?? COORDINATOR_DEFAULTS.tickIntervalMs),
      setInterval(
        this.guarded('ping', () => this.connections.pingAll()),
        this.opts.pingIntervalMs ?? COORDINATOR_DEFAULTS.pingIntervalMs,
      ),
    ];
    const addr = this.http.address() as AddressInfo;
    this.log.info({ host: addr.address, port: addr.port }, 'coordinator listening');
    const scheme = this.opts.tls ? 'wss' : 'ws';
    return { host: addr.address, port: addr.port, url: `${scheme}://${addr.address}:${addr.port}` };
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  status(session?: string): StatusSnapshot {
    return this.state.status(session);
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const { remoteAddress, remotePort, localAddress } = req.socket;
    const remote = { address: remoteAddress ?? '?', port: remotePort ?? 0, localAddress };
    const conn = new ControlConnection(ws, remote, this.limits, this.log, (c, m) => this.onMessage(c, m));
    ws.on('error', (err) => this.log.debug({ err, remote: conn.remote }, 'control socket error'));
    const refusal = this.connections.refusal(conn);
    if (refusal) {
      conn.fail(new CascadeError('ERR_TOO_MANY_CONNECTIONS', refusal));
      return;
    }
    this.connections.add(conn, req.socket);
    ws.on('close', (code: number) => this.guarded('close', () => this.onClose(conn, code))());
    conn.send({ type: 'challenge', nonce: conn.nonce, auth: this.opts.auth?.token !== undefined });
  }

  /** A connection closed: the member it spoke for (if it still did) is gone (handlers/closed.ts). */
  private onClose(conn: ControlConnection, code: number): void {
    this.connections.delete(conn);
    conn.dispose();
    onClosed(this.ctx, conn, CLEAN_CLOSE.has(code), this.now());
  }

  /**
   * `fn` for a timer or event handler: a bug in it is logged, never an uncaught exception
   * (message handlers are guarded by ControlConnection).
   */
  private guarded(what: string, fn: () => void): () => boolean {
    return () => {
      try {
        fn();
        return true;
      } catch (err) {
        this.log.error({ err, in: what }, 'coordinator error');
        return false;
      }
    };
  }

  private onMessage(conn: ControlConnection, msg: ClientMessage): void {
    const now = this.now();
    if (msg.type === 'hello') onHello(this.ctx, conn, msg, now);
    else if (conn.member?.conn === conn) dispatch(this.ctx, conn.member, msg, now); // not a replaced connection
  }
}
