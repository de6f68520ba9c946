import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import {
  decodeErrorBody,
  decodeHelloBody,
  encodeGet,
  encodeHello,
  encodeSliceHeader,
  encodeWelcome,
  FrameDecoder,
  FrameType,
  type DataHello,
  type Frame,
} from '@cascade/common';

/**
 * Hostile data-plane tools over raw TCP: idle or trickling connections to a slice server, a
 * minimal honest fetch (with a real ticket), and a trickling (or lying) *server* listening on a
 * loopback address.
 */

/** Open `n` connections from `localAddress` that never send a byte. Each records when it closed. */
export async function idleConnections(
  host: string,
  port: number,
  n: number,
  localAddress: string,
): Promise<Array<{ socket: Socket; closedAt: number | null }>> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<{ socket: Socket; closedAt: number | null }>((resolve) => {
          const socket = connect({ host, port, localAddress });
          const rec = { socket, closedAt: null as number | null };
          socket.on('error', () => undefined);
          socket.on('data', () => undefined);
          socket.on('close', () => (rec.closedAt = Date.now()));
          socket.once('connect', () => resolve(rec));
          socket.once('close', () => resolve(rec));
        }),
    ),
  );
}

/** Send `bytes` one byte every `intervalMs` on `socket` (stops when it closes or after `maxBytes`). */
export function trickle(socket: Socket, bytes: Buffer, intervalMs: number): () => void {
  let i = 0;
  const t = setInterval(() => {
    if (socket.destroyed || i >= bytes.length) return clearInterval(t);
    socket.write(bytes.subarray(i, i + 1));
    i++;
  }, intervalMs);
  socket.once('close', () => clearInterval(t));
  return () => clearInterval(t);
}

/** A HELLO frame with a ticket that cannot be valid (for trickling partial HELLOs). */
export function fakeHello(session: string, imageId: string): Buffer {
  return encodeHello({ session, imageId, ticket: 'eyJ4IjoxfQ.AAAA', client: 'hostile' });
}

/**
 * Fetch slices honestly from a server with a real ticket (what an attacker that joined as a peer
 * may do). Resolves with the slices' payloads in index order, or rejects on an ERROR frame.
 */
export function fetchSlices(
  server: { host: string; port: number },
  hello: DataHello,
  count: number,
  localAddress: string,
  ms = 60_000,
): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port, localAddress });
    const decoder = new FrameDecoder({
      maxSliceBytes: 64 * 1024 * 1024,
      accept: [FrameType.WELCOME, FrameType.SLICE, FrameType.ERROR],
    });
    const out: Buffer[] = [];
    const timer = setTimeout(() => fail(new Error('fetch timed out')), ms);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.on('error', (err) => fail(err));
    socket.on('connect', () => {
      socket.write(encodeHello(hello));
      for (let i = 0; i < count; i++) socket.write(encodeGet(i));
    });
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        return fail(err as Error);
      }
      for (const f of frames) {
        if (f.type === FrameType.ERROR) return fail(new Error(decodeErrorBody(f).code));
        if (f.type !== FrameType.SLICE) continue;
        out[f.index] = f.length === 0 ? Buffer.alloc(0) : Buffer.concat(f.chunks);
        if (out.filter(Boolean).length === count) {
          clearTimeout(timer);
          socket.end();
          resolve(out);
        }
      }
    });
  });
}

export interface HostileServerOptions {
  host: string;
  /** The image's slices (what an honest server would send), by index; zero slices as empty buffers. */
  slices: (index: number) => Buffer;
  /** Flags per slice (1 = zero slice). */
  flags?: (index: number) => number;
  /** Milliseconds between two bytes sent (the trickle). 0: send at once. */
  byteIntervalMs: number;
  /** Corrupt every slice it sends (a lying server). */
  corrupt?: boolean;
}

/**
 * A malicious slice server: accepts any HELLO, answers WELCOME, then sends each requested slice
 * one byte every `byteIntervalMs` (it never stalls completely), or corrupted at full speed.
 */
export class HostileServer {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;
  /** HELLOs received (who tried to fetch from it). */
  readonly hellos: DataHello[] = [];
  bytesSent = 0;

  constructor(private readonly opts: HostileServerOptions) {}

  async listen(): Promise<{ host: string; port: number }> {
    const server = createServer((s) => this.onConnection(s));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, this.opts.host, resolve));
    this.port = (server.address() as AddressInfo).port;
    return { host: this.opts.host, port: this.port };
  }

  private onConnection(s: Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => undefined);
    const decoder = new FrameDecoder({ maxSliceBytes: 0, accept: [FrameType.HELLO, FrameType.GET, FrameType.BYE] });
    const queue: Buffer[] = [];
    let timer: NodeJS.Timeout | null = null;
    const pump = (): void => {
      if (timer || s.destroyed) return;
      timer = setInterval(() => {
        const head = queue[0];
        if (!head || s.destroyed) {
          if (timer) clearInterval(timer);
          timer = null;
          return;
        }
        s.write(head.subarray(0, 1));
        this.bytesSent++;
        if (head.length === 1) queue.shift();
        else queue[0] = head.subarray(1);
      }, this.opts.byteIntervalMs);
    };
    s.on('close', () => timer && clearInterval(timer));
    s.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch {
        return void s.destroy();
      }
      for (const f of frames) {
        if (f.type === FrameType.HELLO) {
          this.hellos.push(decodeHelloBody(f));
          s.write(encodeWelcome());
        } else if (f.type === FrameType.GET) {
          const flags = this.opts.flags?.(f.index) ?? 0;
          const body = flags ? Buffer.alloc(0) : Buffer.from(this.opts.slices(f.index));
          if (this.opts.corrupt && body.length > 0) body[0] = (body[0] as number) ^ 0xff;
          const frame = Buffer.concat([encodeSliceHeader(f.index, body.length, flags), body]);
          if (this.opts.byteIntervalMs <= 0) {
            s.write(frame);
            this.bytesSent += frame.length;
          } else {
            queue.push(frame);
            pump();
          }
        }
      }
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
