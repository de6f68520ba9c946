import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { CascadeError, toCascadeError } from '../errors.js';
import {
  decodeHelloBody,
  encodeError,
  encodeSliceHeader,
  encodeWelcome,
  FrameDecoder,
  FrameFlags,
  FrameType,
  type Frame,
} from '../protocol/data-frames.js';
import type { TicketClaims } from '../protocol/ticket.js';
import { SLICE_SERVER_DEFAULTS } from './connection-gate.js';
import type { ClientStats, SliceServerOptions } from './slice-server.js';
import { holdChunk } from './buffer-pool.js';
import { discardBody, isCompressedSlice, isSliceStream, type SliceBody, type SliceStream } from './slice-stream.js';

/** What a connection needs from its server: admission against capacity, accounting. */
export interface ConnectionHost {
  admit(conn: SliceConnection, claims: TicketClaims): CascadeError | null;
  /** A connection closed before a valid HELLO was admitted (for a throttled log line). */
  refused(code: string, remote: string): void;
  release(conn: SliceConnection, reason: string): void;
  countBytes(n: number): void;
  isZero(index: number): boolean;
}

/**
 * One client connection of a slice server: HELLO (ticket, capacity), then an ordered pump of GET
 * answers. Never throws from a socket handler: a bad client gets an ERROR frame and is closed.
 */
export class SliceConnection {
  readonly stats: ClientStats;
  private readonly decoder: FrameDecoder;
  private readonly queue: number[] = [];
  private pumping = false;
  private admitted = false;
  private done = false;
  /** A streamed slice's header went out but not all its bytes: an ERROR frame cannot follow. */
  private midSlice = false;
  private readonly log: Logger;
  private helloTimer: NodeJS.Timeout | null;

  constructor(
    private readonly server: ConnectionHost,
    private readonly socket: Socket,
    private readonly opts: SliceServerOptions,
  ) {
    const address = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.stats = { client: '?', address, bytes: 0, slices: 0, since: Date.now() };
    this.log = opts.logger.child({ component: 'slice-server', remote: address });
    this.decoder = new FrameDecoder({ maxSliceBytes: 0, accept: [FrameType.HELLO, FrameType.GET, FrameType.BYE] });
    this.helloTimer = setTimeout(
      () => this.abort(new CascadeError('ERR_HELLO_TIMEOUT', 'no HELLO in time')),
      opts.helloTimeoutMs ?? SLICE_SERVER_DEFAULTS.helloTimeoutMs,
    );
    socket.setTimeout(opts.idleTimeoutMs ?? SLICE_SERVER_DEFAULTS.idleTimeoutMs, () =>
      this.abort(new CascadeError('ERR_SERVER_LOST', 'connection idle for too long')),
    );
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.log.debug({ err }, 'client socket error'));
  }

  private onData(chunk: Buffer): void {
    if (this.done) return;
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
      for (const f of frames) this.onFrame(f);
    } catch (err) {
      this.abort(toCascadeError(err, 'ERR_FRAME_MALFORMED'));
    }
  }

  private onFrame(f: Frame): void {
    if (this.done) return;
    if (f.type === FrameType.HELLO) return this.onHello(f);
    if (!this.admitted) throw new CascadeError('ERR_HELLO_REQUIRED', 'HELLO must come first');
    if (f.type === FrameType.BYE) return this.finish('bye');
    // GET
    const count = this.opts.source.manifest.digests.length;
    if (f.index >= count)
      throw new CascadeError('ERR_SLICE_OUT_OF_RANGE', `slice ${f.index} is outside the image (${count} slices)`);
    if (this.queue.length >= (this.opts.maxOutstanding ?? 64)) {
      throw new CascadeError('ERR_TOO_MANY_REQUESTS', 'too many requests outstanding');
    }
    this.queue.push(f.index);
    this.pump().catch((err: unknown) => this.abort(toCascadeError(err, 'ERR_IMAGE_UNREADABLE')));
  }

  private onHello(f: Frame): void {
    if (this.admitted) throw new CascadeError('ERR_FRAME_MALFORMED', 'second HELLO');
    const hello = decodeHelloBody(f);
    const claims = this.opts.authorize(hello);
    if (claims.client !== hello.client)
      throw new CascadeError('ERR_TICKET_INVALID', 'ticket refused: issued for another client');
    this.stats.client = hello.client;
    const refusal = this.server.admit(this, claims);
    if (refusal) throw refusal;
    this.admitted = true;
    if (this.helloTimer) clearTimeout(this.helloTimer);
    this.helloTimer = null;
    this.log.debug({ client: hello.client }, 'client admitted');
    this.socket.write(encodeWelcome());
  }

  /**
   * Send queued slices in order. The next slice is read while the current one drains to the
   * socket (read-ahead of one), so disk and network overlap; memory stays at two slices. A relay's
   * slice still arriving is streamed (cut-through): header at once, bytes as they come.
   */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    let ahead: { index: number; data: Promise<SliceBody | null> } | null = null;
    try {
      while (!this.done && (ahead || this.queue.length > 0)) {
        const cur = ahead ?? this.read(this.queue.shift() as number);
        ahead = this.queue.length > 0 ? this.read(this.queue.shift() as number) : null;
        await this.sendSlice(cur.index, await cur.data);
      }
    } catch (err) {
      this.abort(toCascadeError(err, 'ERR_IMAGE_UNREADABLE'));
    } finally {
      if (ahead) discardBody(ahead.data);
      this.pumping = false;
    }
  }

  /** Start reading a slice (null for an all-zero slice, which is never read or sent). */
  private read(index: number): { index: number; data: Promise<SliceBody | null> } {
    const source = this.opts.source;
    const data: Promise<SliceBody | null> = this.server.isZero(index)
      ? Promise.resolve(null)
      : source.openSlice
        ? source.openSlice(index)
        : source.readSlice(index);
    data.catch(() => undefined); // a failure is seen when the slice's turn comes
    return { index, data };
  }

  private async sendSlice(index: number, data: SliceBody | null): Promise<void> {
    if (data === null) {
      this.socket.write(encodeSliceHeader(index, 0, FrameFlags.ZERO));
      return;
    }
    if (isSliceStream(data)) return this.sendStream(index, data);
    const bytes = isCompressedSlice(data) ? data.zstd : data;
    if (this.done) return;
    if (this.opts.rateLimiter) await this.opts.rateLimiter.take(bytes.length);
    if (this.done) return;
    this.socket.write(encodeSliceHeader(index, bytes.length, bytes === data ? 0 : FrameFlags.COMPRESSED));
    const flushed = this.socket.write(bytes);
    this.stats.bytes += bytes.length;
    this.stats.slices++;
    this.server.countBytes(bytes.length);
    // Once drained, the socket holds no reference to the bytes: the source may read into them again.
    if (!flushed) await this.drained();
    if (!flushed) this.opts.source.recycle?.(bytes);
  }

  /** Forward a slice as it arrives: each chunk goes out (rate-limited, back-pressured) as it comes. */
  private async sendStream(index: number, stream: SliceStream): Promise<void> {
    try {
      if (this.done) return;
      this.socket.write(encodeSliceHeader(index, stream.length, stream.compressed ? FrameFlags.COMPRESSED : 0));
      this.midSlice = true;
      for (let c = await stream.next(); c !== null; c = await stream.next()) {
        if (this.done) return;
        if (this.opts.rateLimiter) await this.opts.rateLimiter.take(c.length);
        if (this.done) return;
        // The bytes may lie in a pooled receive buffer (a relay's): held until the write is done.
        const flushed = this.socket.write(c, holdChunk(c));
        this.stats.bytes += c.length;
        this.server.countBytes(c.length);
        if (!flushed) await this.drained();
      }
      this.midSlice = false;
      this.stats.slices++;
    } finally {
      stream.close();
    }
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** Send an ERROR frame and close. */
  abort(err: CascadeError): void {
    if (this.done) return;
    if (this.admitted)
      this.log.info({ code: err.code, client: this.stats.client, reason: err.message }, 'closed data connection');
    else {
      this.log.debug({ code: err.code, client: this.stats.client, reason: err.message }, 'refused data connection');
      this.server.refused(err.code, this.stats.address);
    }
    // Mid-slice (a relay whose upstream never sent the rest) the client reads body bytes: no
    // frame can follow, so the connection is dropped (the client sees its server lost).
    if (this.midSlice) this.socket.destroy();
    else if (this.socket.writable) this.socket.end(encodeError(err.code, err.message));
    this.finish(err.code);
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private finish(reason: string): void {
    if (this.done) return;
    this.done = true;
    if (this.helloTimer) clearTimeout(this.helloTimer);
    this.queue.length = 0;
    if (this.socket.writable) this.socket.end();
    if (this.admitted) this.server.release(this, reason);
  }

  closed(): void {
    this.finish('closed');
  }
}
