import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { CascadeError } from '../errors.js';
import { CLIENT_FLOOR_DEFAULTS, judgeClient, type ClientFloorOptions, type FloorMark } from './client-floor.js';
import { ConnectionGate, SLICE_SERVER_DEFAULTS } from './connection-gate.js';
import { zeroMap, type SliceBitmap } from '../manifest/manifest.js';
import type { DataHello } from '../protocol/data-frames.js';
import type { TicketClaims } from '../protocol/ticket.js';
import type { RateLimiter } from './rate-limiter.js';
import { SliceConnection, type ConnectionHost } from './slice-connection.js';
import type { SliceSource } from './slice-source.js';

export interface SliceServerOptions {
  logger: Logger;
  source: SliceSource;
  /** Checks a client's HELLO (ticket, image, session); returns the claims or throws. */
  authorize: (hello: DataHello) => TicketClaims;
  /** Clients served at once. */
  capacity: number;
  host: string;
  port: number;
  rateLimiter?: RateLimiter | undefined;
  /** GETs one client may have outstanding. */
  maxOutstanding?: number;
  /** A connection without a valid HELLO this long after it opened is closed (default 5 s). */
  helloTimeoutMs?: number;
  /** A connection with no traffic for this long is closed. */
  idleTimeoutMs?: number;
  /**
   * Connections held at once, those without a valid HELLO yet included (default max(32, 4 ×
   * capacity)); past it a new connection evicts the oldest one still without HELLO.
   */
  maxConnections?: number;
  /** Connections one address may hold beyond the capacity (default 4). */
  perAddressConnections?: number;
  /**
   * The rate floor clients are held to while every slot is taken (client-floor.ts; default
   * CLIENT_FLOOR_DEFAULTS); null: none (a relay, whose clients wait for its own upstream).
   */
  clientFloor?: ClientFloorOptions | null;
}

export { SLICE_SERVER_DEFAULTS };

export interface ClientStats {
  client: string;
  address: string;
  bytes: number;
  slices: number;
  since: number;
}

/**
 * The slice server every server role runs: checks a ticket, counts the client against its
 * capacity, and answers pipelined GETs with a header and the raw slice bytes, in order,
 * respecting socket backpressure. Never throws from a socket handler: a bad client gets an
 * ERROR frame and is closed.
 *
 * Events: `client-joined` (ClientStats), `client-left` (ClientStats, reason: ERR_CLIENT_TOO_SLOW
 * when the rate floor dropped it, client-floor.ts).
 */
export class SliceServer extends EventEmitter implements ConnectionHost {
  private server: Server | null = null;
  private readonly clients = new Map<string, SliceConnection>();
  private readonly sockets = new Set<Socket>();
  private readonly zero: SliceBitmap;
  private totalBytes = 0;
  private capacityValue: number;
  private readonly gate: ConnectionGate<SliceConnection>;
  private readonly refusals = { count: 0, loggedAt: 0 };
  /** Each admitted client's rate-floor window (client-floor.ts). */
  private readonly marks = new Map<SliceConnection, FloorMark>();
  private floorTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: SliceServerOptions) {
    super();
    this.zero = zeroMap(opts.source.manifest);
    this.capacityValue = opts.capacity;
    this.gate = new ConnectionGate({
      maxConnections: opts.maxConnections ?? SLICE_SERVER_DEFAULTS.maxConnections(opts.capacity),
      perAddress: opts.perAddressConnections ?? SLICE_SERVER_DEFAULTS.perAddressConnections,
      capacity: () => this.capacityValue,
    });
  }

  get capacity(): number {
    return this.capacityValue;
  }
  /** Change how many clients are served at once (a relay whose image became whole). */
  setCapacity(n: number): void {
    this.capacityValue = n;
  }
  get activeClients(): number {
    return this.clients.size;
  }
  get bytesServed(): number {
    return this.totalBytes;
  }
  clientStats(): ClientStats[] {
    return [...this.clients.values()].map((c) => c.stats);
  }

  /**
   * Listen on opts.host:opts.port, or take over `prebound` (a listener bound earlier with
   * bindListener(), e.g. at startup, so a taken port is reported before anything else happens).
   */
  async listen(prebound?: Server): Promise<{ host: string; port: number }> {
    const server = prebound ?? (await bindListener(this.opts.host, this.opts.port));
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => this.accept(socket));
    // A backstop only: the gate refuses with an ERROR frame long before (refused sockets linger ≤ 1 s).
    server.maxConnections = 8 * (this.opts.maxConnections ?? SLICE_SERVER_DEFAULTS.maxConnections(this.opts.capacity));
    this.server = server;
    server.on('error', (err) => this.opts.logger.error({ err }, 'slice server error'));
    server.on('drop', (d?: { remoteAddress?: string }) =>
      this.opts.logger.warn(
        { code: 'ERR_TOO_MANY_CONNECTIONS', remote: d?.remoteAddress, max: server.maxConnections },
        'refused data connection',
      ),
    );
    const floor = this.opts.clientFloor === undefined ? CLIENT_FLOOR_DEFAULTS : this.opts.clientFloor;
    if (floor) this.floorTimer = setInterval(() => this.holdToFloor(floor), floor.windowMs / 4).unref();
    const addr = server.address() as AddressInfo;
    return { host: addr.address, port: addr.port };
  }

  /** Drop the clients that stayed below the rate floor for a whole window while every slot was taken. */
  private holdToFloor(floor: ClientFloorOptions): void {
    const now = Date.now();
    const full = this.clients.size >= this.capacityValue;
    for (const [conn, mark] of this.marks) {
      const next = judgeClient(conn.stats, mark, full, floor, now);
      if (next !== 'slow') {
        this.marks.set(conn, next);
        continue;
      }
      const why = `took less than ${floor.bytesPerSec} B/s over ${floor.windowMs} ms while others waited`;
      conn.abort(new CascadeError('ERR_CLIENT_TOO_SLOW', why));
    }
  }

  /** Stop accepting; end every connection (clients keep what they verified). */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (this.floorTimer) clearInterval(this.floorTimer);
    // A connection already ending (an ERROR frame just sent) gets a moment to deliver it.
    for (const s of this.sockets) {
      if (s.writableEnded) setTimeout(() => s.destroy(), 200).unref();
      else s.destroy();
    }
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const conn = new SliceConnection(this, socket, this.opts);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.gate.leave(conn);
      conn.closed();
    });
    this.gate.enter(conn, socket.remoteAddress);
  }

  /**
   * @internal A connection closed before a valid HELLO (timeout, refusal, bad ticket). Logged as
   * one warning per 10 s with a count, so a flood cannot flood the log too.
   */
  refused(code: string, remote: string): void {
    this.refusals.count++;
    const now = Date.now();
    if (now - this.refusals.loggedAt < 10_000) return;
    this.opts.logger.warn(
      { code, remote, refused: this.refusals.count, pending: this.gate.pendingCount, connections: this.gate.size },
      'refused data connections (no valid HELLO, or over a connection limit)',
    );
    this.refusals.count = 0;
    this.refusals.loggedAt = now;
  }

  /** @internal */
  admit(conn: SliceConnection, claims: TicketClaims): CascadeError | null {
    const existing = this.clients.get(claims.client);
    if (existing)
      existing.abort(new CascadeError('ERR_SERVER_LOST', 'replaced by a newer connection of the same client'));
    else if (this.clients.size >= this.capacityValue) {
      return new CascadeError('ERR_SERVER_FULL', `server is serving its capacity of ${this.capacityValue} clients`);
    }
    this.clients.set(claims.client, conn);
    this.marks.set(conn, { at: Date.now(), bytes: 0 });
    this.gate.admitted(conn);
    this.emit('client-joined', conn.stats);
    return null;
  }

  /** @internal */
  release(conn: SliceConnection, reason: string): void {
    this.marks.delete(conn);
    if (this.clients.get(conn.stats.client) === conn) {
      this.clients.delete(conn.stats.client);
      this.emit('client-left', conn.stats, reason);
    }
  }

  /** @internal */
  countBytes(n: number): void {
    this.totalBytes += n;
  }

  /** @internal */
  isZero(index: number): boolean {
    return this.zero.get(index);
  }
}

/**
 * Bind a TCP listener; connections that arrive before a SliceServer takes it over are closed.
 * A taken or unusable address rejects with ERR_BAD_CONFIG naming it.
 */
export async function bindListener(host: string, port: number): Promise<Server> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new CascadeError('ERR_BAD_CONFIG', `cannot listen on ${host}:${port}: ${err.code ?? err.message}`, {
          cause: err,
        }),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  server.removeAllListeners('error');
  return server;
}
