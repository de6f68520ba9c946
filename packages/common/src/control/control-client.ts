import type { Logger } from 'pino';
import WebSocket from '../ws.cjs';
import { CascadeError, coordinatorRefusal, FATAL_CONTROL_CODES } from '../errors.js';
import { decodeCoordinatorMessage, encodeControl } from '../protocol/control-codec.js';
import { helloProof } from '../protocol/hello-auth.js';
import {
  PROTOCOL_VERSION,
  type ClientMessage,
  type ClientMessageOf,
  type CoordinatorMessage,
} from '../protocol/control-messages.js';

export interface ControlClientOptions {
  url: string;
  hello: Omit<ClientMessageOf<'hello'>, 'type' | 'protocol' | 'auth'>;
  /** Session token: the hello then answers the coordinator's challenge with a proof of it. */
  token?: Uint8Array | undefined;
  /** Trusted CA certificate(s), PEM, for a wss:// coordinator with its own certificate. */
  ca?: Buffer | string | undefined;
  logger: Logger;
  onMessage: (msg: CoordinatorMessage) => void;
  /** After every welcome (first connect and each reconnect): re-announce state here. */
  onConnected?: () => void;
  onDisconnected?: (reason: string) => void;
  /** Reconnect with exponential backoff and jitter; false for one-shot commands. */
  reconnect?: false | { initialMs?: number; maxMs?: number; giveUpAfterMs?: number };
  /** Expect a ping from the coordinator at least this often (×3 before giving up on it). */
  pingIntervalMs?: number;
  connectTimeoutMs?: number;
}

/**
 * A role's control connection to the coordinator: hello first, msgpack frames, validated
 * incoming messages, and reconnection with backoff so a coordinator restart costs nothing.
 */
export class ControlClient {
  private ws: WebSocket | null = null;
  private closedByUs = false;
  private attempt = 0;
  private offlineSince: number | null = null;
  /** Why the current connection attempt failed (socket error or coordinator refusal), for the retry log. */
  private lastError: string | null = null;
  /** Set when what answers at the URL is not a coordinator (e.g. a data port): retries say so at warn. */
  private notCoordinator: string | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private aliveTimer: NodeJS.Timeout | null = null;
  private firstWelcome: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private welcomed = false;
  /** This member's secret from the coordinator's welcome: proves every reconnect under our id. */
  private secret: string | undefined;
  private readonly log: Logger;

  constructor(private readonly opts: ControlClientOptions) {
    this.log = opts.logger.child({ component: 'control-client' });
  }

  /** Local address of the control connection (what this host looks like to the coordinator). */
  get localAddress(): string | undefined {
    const sock = (this.ws as unknown as { _socket?: { localAddress?: string } } | null)?._socket;
    return sock?.localAddress;
  }

  get connected(): boolean {
    return this.welcomed && this.ws?.readyState === WebSocket.OPEN;
  }

  /** Connect; resolves on the first welcome. Rejects if a one-shot connection fails. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.firstWelcome = { resolve, reject };
      this.connect();
    });
  }

  /** Send a message; false (and dropped) when not connected — state is re-announced on reconnect. */
  send(msg: ClientMessage): boolean {
    if (!this.connected || !this.ws) return false;
    this.ws.send(encodeControl(msg));
    return true;
  }

  /** Close (after what was sent is flushed); resolves once the connection closed, or after 2 s. */
  close(): Promise<void> {
    this.closedByUs = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.aliveTimer) clearTimeout(this.aliveTimer);
    const ws = this.ws;
    this.ws = null;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2000);
      timer.unref();
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000);
    });
  }

  /** A coordinator message, or null (logged) for a text frame or one that does not validate. */
  private decode(data: Buffer, isBinary: boolean): CoordinatorMessage | null {
    if (!isBinary) {
      this.log.warn('coordinator sent a text frame; ignored');
      return null;
    }
    try {
      return decodeCoordinatorMessage(data);
    } catch (err) {
      this.log.warn({ err }, 'invalid message from coordinator; ignored');
      return null;
    }
  }

  /**
   * The coordinator refused us before the welcome: a fatal code (FATAL_CONTROL_CODES, the role's
   * own configuration) or a one-shot connection ends here, with the code wrapped as the
   * coordinator's (ERR_COORDINATOR_REFUSED); anything else (too many connections, rate limited,
   * restarting) is retried.
   */
  private refused(ws: WebSocket, msg: Extract<CoordinatorMessage, { type: 'error' }>): void {
    if (this.opts.reconnect === false || FATAL_CONTROL_CODES.has(msg.code)) {
      const err = coordinatorRefusal(msg.code, msg.message);
      this.closedByUs = true;
      this.firstWelcome?.reject(err);
      this.firstWelcome = null;
      this.opts.onMessage(msg);
      return;
    }
    this.lastError = `refused: ${msg.code} (${msg.message})`;
    ws.terminate();
  }

  private connect(): void {
    const ws = new WebSocket(this.opts.url, {
      maxPayload: 32 * 1024 * 1024,
      handshakeTimeout: this.opts.connectTimeoutMs ?? 10_000,
      perMessageDeflate: false,
      ...(this.opts.ca ? { ca: this.opts.ca } : {}),
    });
    this.ws = ws;
    this.welcomed = false;
    ws.binaryType = 'nodebuffer';
    let helloSent = false;
    ws.on('open', () => {
      this.heartbeat();
      // Without a token, say hello at once; with one, answer the challenge (a fresh nonce per connection).
      if (!this.opts.token) ws.send(encodeControl({ type: 'hello', ...this.helloFields() }));
    });
    ws.on('ping', () => this.heartbeat());
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (ws !== this.ws) return;
      this.heartbeat();
      const msg = this.decode(data, isBinary);
      if (!msg) return;
      if (msg.type === 'challenge') {
        const token = this.opts.token;
        if (token && !helloSent) {
          helloSent = true;
          const hello = this.helloFields();
          ws.send(encodeControl({ type: 'hello', ...hello, auth: helloProof(token, msg.nonce, hello) }));
        }
        return;
      }
      if (msg.type === 'welcome') {
        this.welcomed = true;
        this.notCoordinator = null;
        this.secret = msg.secret ?? this.secret; // a restarted coordinator issues a new one
        this.attempt = 0;
        this.offlineSince = null;
        this.log.info({ url: this.opts.url }, 'connected to coordinator');
        this.firstWelcome?.resolve();
        this.firstWelcome = null;
        this.opts.onConnected?.();
        return;
      }
      if (msg.type === 'error' && !this.welcomed) return this.refused(ws, msg);
      this.opts.onMessage(msg);
    });
    ws.on('error', (err) => {
      this.lastError ??= err.message;
      this.notCoordinator ??= notACoordinatorHint(this.opts.url, err);
      this.log.debug({ err }, 'control connection error');
    });
    ws.on('close', (code, reason) => this.onClose(ws, `${code} ${reason.toString()}`.trim()));
  }

  /** The hello's fields: who we are, and (once welcomed) the secret that proves it. */
  private helloFields(): Omit<ClientMessageOf<'hello'>, 'type' | 'auth'> {
    return { protocol: PROTOCOL_VERSION, ...this.opts.hello, ...(this.secret ? { secret: this.secret } : {}) };
  }

  private heartbeat(): void {
    if (this.aliveTimer) clearTimeout(this.aliveTimer);
    const interval = this.opts.pingIntervalMs ?? 10_000;
    this.aliveTimer = setTimeout(() => {
      this.log.warn('no sign of life from the coordinator; reconnecting');
      this.ws?.terminate();
    }, interval * 3);
    this.aliveTimer.unref();
  }

  /** `closed` is the close code and reason; the attempt's own error, when it had one, says more. */
  private onClose(ws: WebSocket, closed: string): void {
    const reason = this.lastError ?? `closed with code ${closed}`;
    this.lastError = null;
    if (ws !== this.ws) return;
    if (this.aliveTimer) clearTimeout(this.aliveTimer);
    const wasWelcomed = this.welcomed;
    this.welcomed = false;
    if (this.closedByUs) return;
    if (wasWelcomed) {
      this.log.warn({ reason }, 'lost the coordinator');
      this.opts.onDisconnected?.(reason);
    }
    const rc = this.opts.reconnect;
    if (rc === false) {
      this.firstWelcome?.reject(
        new CascadeError('ERR_COORDINATOR_UNREACHABLE', `cannot reach the coordinator at ${this.opts.url}`),
      );
      this.firstWelcome = null;
      return;
    }
    const now = Date.now();
    this.offlineSince ??= now;
    const giveUp = rc?.giveUpAfterMs ?? 30 * 60_000;
    if (now - this.offlineSince > giveUp) {
      const err = new CascadeError(
        'ERR_COORDINATOR_UNREACHABLE',
        `coordinator unreachable for ${Math.round(giveUp / 1000)}s`,
      );
      this.firstWelcome?.reject(err);
      this.firstWelcome = null;
      this.opts.onDisconnected?.('gave-up');
      return;
    }
    const initial = rc?.initialMs ?? 250;
    const max = rc?.maxMs ?? 10_000;
    const base = Math.min(max, initial * 2 ** this.attempt);
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.attempt++;
    const retry = { url: this.opts.url, reason, attempt: this.attempt, delay };
    if (this.notCoordinator) this.log.warn({ ...retry, hint: this.notCoordinator }, 'retrying the coordinator');
    else this.log.info(retry, 'retrying the coordinator');
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }
}

/**
 * Something answered at `url`, but not as a WebSocket server (the HTTP parser failed on its bytes,
 * or it answered HTTP without upgrading): most often a data port (7771) given as the coordinator.
 */
function notACoordinatorHint(url: string, err: Error & { code?: string }): string | null {
  const notHttp = err.code?.startsWith('HPE_') ?? false;
  if (!notHttp && !/^Unexpected server response/.test(err.message)) return null;
  const port = new URL(url).port;
  const dataPort = port === '7771' ? `port 7771 is the data (and discovery) port, ` : '';
  return `what answers at ${url} is not a cascade coordinator: ${dataPort}the coordinator listens on 7770 by default`;
}
