import msgpack from 'msgpack-lite';
import { helloProof, PROTOCOL_VERSION } from '@cascade/common';
import WebSocket from 'ws';

/**
 * A hostile control-plane client: a bare ws + msgpack-lite connection to a coordinator that says
 * whatever it likes. It never validates what it sends, so it can claim any role, id, name or
 * session, with or without the token, and send any message (forged `failed`, `done`, `serve`…).
 * Everything the coordinator answers is kept in `received`, in order.
 */
export type Msg = Record<string, unknown> & { type?: unknown };

const codec = msgpack.createCodec({ binarraybuffer: false, preset: false });

export interface HelloAs {
  role: 'seeder' | 'peer' | 'observer' | 'operator';
  id: string;
  name?: string;
  session?: string;
  /** Session token: the hello then carries a valid proof over this connection's nonce. */
  token?: string;
  /** The per-member secret from an earlier `welcome` (issue 16: field `secret`). */
  secret?: unknown;
  /** Any further fields, sent as they are. */
  extra?: Record<string, unknown>;
}

export class HostileControl {
  readonly received: Msg[] = [];
  private waiters = new Set<() => void>();
  private challengeNonce: Buffer | null = null;
  closed = false;
  closeCode: number | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      let m: Msg;
      try {
        m = msgpack.decode(data, { codec }) as Msg;
      } catch {
        m = { type: '<undecodable>' };
      }
      if (m.type === 'challenge' && Buffer.isBuffer(m.nonce)) this.challengeNonce = m.nonce;
      this.received.push(m);
      this.wake();
    });
    ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
      this.wake();
    });
    ws.on('error', () => undefined);
  }

  /** Connect (from `localAddress` when given) and wait for the coordinator's challenge. */
  static async connect(url: string, localAddress?: string, ms = 5000): Promise<HostileControl> {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) });
    const c = new HostileControl(ws);
    await c.next((m) => m.type === 'challenge', ms);
    return c;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  get nonce(): Buffer {
    if (!this.challengeNonce) throw new Error('no challenge received');
    return this.challengeNonce;
  }

  /** Send any value as one binary msgpack frame. */
  sendRaw(value: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(msgpack.encode(value, { codec }));
  }

  send(msg: Msg): void {
    this.sendRaw(msg);
  }

  /** Say hello as anyone; resolves with the answer (`welcome` or `error`), or null on close/timeout. */
  async hello(h: HelloAs, ms = 5000): Promise<Msg | null> {
    const name = h.name ?? h.id;
    const identity = { protocol: PROTOCOL_VERSION, role: h.role, id: h.id, name, session: h.session };
    const msg: Msg = { type: 'hello', protocol: PROTOCOL_VERSION, role: h.role, id: h.id, name };
    if (h.session !== undefined) msg.session = h.session;
    if (h.token !== undefined) msg.auth = helloProof(Buffer.from(h.token), this.nonce, identity);
    if (h.secret !== undefined) msg.secret = h.secret;
    Object.assign(msg, h.extra ?? {});
    const from = this.received.length;
    this.send(msg);
    return this.next((m) => m.type === 'welcome' || m.type === 'error', ms, from).catch(() => null);
  }

  /**
   * The first message (from index `from` on) matching `pred`; rejects after `ms` or when the
   * connection closes first.
   */
  next(pred: (m: Msg) => boolean, ms = 5000, from = 0): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.received.slice(from).find(pred);
        if (found) return finish(() => resolve(found));
        if (this.closed) return finish(() => reject(new Error(`connection closed (${this.closeCode})`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no matching message in ${ms} ms`))), ms);
      const finish = (f: () => void): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        f();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Messages of one type received so far. */
  all(type: string): Msg[] {
    return this.received.filter((m) => m.type === type);
  }

  /** A round trip (get-status → status or error): everything sent before it has been handled. */
  async sync(ms = 5000): Promise<Msg | null> {
    const from = this.received.length;
    this.send({ type: 'get-status' });
    return this.next((m) => m.type === 'status' || m.type === 'error', ms, from).catch(() => null);
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Connect and say hello in one step; the connection stays open for more messages. */
export async function helloAs(url: string, h: HelloAs, localAddress?: string): Promise<[HostileControl, Msg | null]> {
  const c = await HostileControl.connect(url, localAddress);
  return [c, await c.hello(h)];
}
