import { randomUUID } from 'node:crypto';
import {
  decodeCoordinatorMessage,
  encodeControl,
  PROTOCOL_VERSION,
  type ClientMessage,
  type CoordinatorMessage,
  type Role,
} from '@cascade/common';
import WebSocket from 'ws';

export interface Identity {
  role: Role;
  name: string;
  session: string;
  id?: string;
}

/**
 * A control connection without the rest of a peer: speaks the real protocol (msgpack frames,
 * hello first) and hands every coordinator message to `onMessage`. No data plane.
 */
export class LightClient {
  readonly id: string;
  onMessage: (m: CoordinatorMessage) => void = () => undefined;
  private waiters: Array<{ type: string; resolve: (m: CoordinatorMessage) => void }> = [];

  private constructor(
    readonly ws: WebSocket,
    readonly who: Identity,
  ) {
    this.id = who.id ?? randomUUID();
    ws.on('message', (data: Buffer) => {
      const m = decodeCoordinatorMessage(data);
      const i = this.waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
      else if (m.type === 'error') this.ws.emit('error', new Error(`${m.code}: ${m.message}`));
      this.onMessage(m);
    });
  }

  /** Open a connection from `localAddress` and complete the hello; resolves once welcomed. */
  static async connect(url: string, localAddress: string, who: Identity, timeoutMs = 30_000): Promise<LightClient> {
    const ws = new WebSocket(url, { localAddress, perMessageDeflate: false, handshakeTimeout: timeoutMs });
    const c = new LightClient(ws, who);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.on('error', () => undefined);
    await hello(c, timeoutMs);
    return c;
  }

  send(m: ClientMessage): void {
    this.ws.send(encodeControl(m));
  }

  /** The next message of this type (rejects after `ms`). */
  next<T extends CoordinatorMessage['type']>(type: T, ms = 30_000): Promise<Extract<CoordinatorMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      const w = { type, resolve: resolve as (m: CoordinatorMessage) => void };
      this.waiters.push(w);
      setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i < 0) return;
        this.waiters.splice(i, 1);
        reject(new Error(`no ${type} within ${ms} ms`));
      }, ms).unref();
    });
  }

  close(): void {
    this.ws.terminate();
  }
}

/**
 * The hello exchange, kept in one place so a change to it (a token challenge–response, say)
 * is made here only: send hello, resolve on welcome.
 */
async function hello(c: LightClient, timeoutMs: number): Promise<void> {
  const welcome = c.next('welcome', timeoutMs);
  c.send({
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    role: c.who.role,
    id: c.id,
    name: c.who.name,
    session: c.who.session,
  });
  await welcome;
}

/** Source address for the i-th light client (0-based): 127.0.10.1 … 127.0.49.250, 250 per address. */
export function lightAddress(i: number): string {
  return `127.0.${10 + Math.floor(i / 250)}.${(i % 250) + 1}`;
}
