/**
 * fetch/ — pulling slices from one server over one TCP connection: the connection and its frame
 * reader (frame-reader.ts, receive-buffers.ts), the request window, the stall and minimum-rate
 * watches (rate-floor.ts), and the verify-then-write pipeline (verify-pipeline.ts). It owns one
 * transfer's socket and the slices it has asked for; which slices to ask for is the store's call.
 */
import type { Socket } from 'node:net';
import {
  CascadeError,
  decodeErrorBody,
  encodeBye,
  encodeGet,
  encodeHello,
  FrameDecoder,
  FrameFlags,
  FrameType,
  serverRefusal,
  type DigestAlgorithm,
  type Frame,
  type Logger,
  type Manifest,
  type ServerRef,
  type SliceBodyListener,
} from '@cascade/common';
import { expectedSlicesOnly } from '../slices/inflight-slices.js';
import { rateWatch, stallWatch } from './socket-watches.js';
import { connectFrames, type FrameReader } from './frame-reader.js';
import { dropFrames, slicePool } from './receive-buffers.js';
import { VerifyPipeline, type DecompressDigest } from './verify-pipeline.js';
import { wireLengthVerdict } from './wire-length.js';

export interface SliceFetchOptions {
  logger: Logger;
  manifest: Manifest;
  server: ServerRef;
  ticket: string;
  session: string;
  clientId: string;
  /** Source address for the connection (this peer's own address). */
  localAddress?: string | undefined;
  /** No TCP connection within this long: the server is unreachable. */
  connectTimeoutMs: number;
  /** Most GETs kept outstanding; the window in use is sized from the measured rate (see windowNow). */
  window: number;
  /** No bytes for this long with requests outstanding: the server is lost. */
  stallTimeoutMs: number;
  /**
   * Minimum useful rate in bytes/s (0: none): a server that sends bytes, but fewer than this
   * over `minRateWindowMs` of waiting for them, is abandoned (ERR_SERVER_TOO_SLOW).
   */
  minRate: number;
  minRateWindowMs?: number;
  /** Next slice to request, or undefined when nothing more is needed from this server. */
  next: () => number | undefined;
  /** Put a slice back to be fetched again. */
  retry: (index: number) => void;
  /** A slice passed its digest check: write it and mark it held. The chunks (pooled) are reused once this resolves. */
  onVerified: (index: number, chunks: Buffer[]) => Promise<void>;
  /** Bad slices tolerated from one server before giving up on it. */
  maxBadSlices?: number;
  /** Hash a slice (e.g. on a pool of worker threads); default: inline. */
  digest?: (algorithm: DigestAlgorithm, chunks: readonly Buffer[]) => Promise<string>;
  /** Decompress and digest a compressed slice (e.g. DigestPool.digestCompressed); default: inline. */
  decompress?: DecompressDigest;
  /** A compressed slice passed its digest: its wire bytes (pooled: copy what is kept). */
  onCompressedVerified?: (index: number, wire: readonly Buffer[]) => void;
  /** Hears each slice's bytes as they arrive, before verification (relay cut-through). */
  sliceBody?: SliceBodyListener;
  /** Slices verified at once (the hashing pool's size; default 1). Written in any order. */
  verifiers?: number;
  /**
   * Abort the transfer: the slice being written finishes, the rest is dropped. The transfer ends
   * with the abort reason when it is a CascadeError (e.g. ERR_MOVED), else ERR_STOPPED.
   */
  signal?: AbortSignal;
  /** Bytes read from the socket, as they arrive (the peer's receive rate). */
  onReceived?: (bytes: number) => void;
}

export interface SliceFetchResult {
  slices: number;
  /** Payload bytes of the slices written (image bytes the filesystems use). */
  bytes: number;
  /** What those slices took on the wire (less than `bytes` when they came compressed). */
  wireBytes?: number;
  badSlices: number[];
  /**
   * Set when the transfer ended early: ERR_SERVER_UNREACHABLE (refused, unroutable, or no
   * connection within the connect timeout: a network fault), ERR_SERVER_LOST (reset, closed, stalled),
   * ERR_SERVER_TOO_SLOW (below the minimum useful rate),
   * ERR_SERVER_REFUSED (an ERROR frame; the server's code in remoteCode), ERR_SERVER_BAD (bad
   * slices), ERR_FRAME_MALFORMED / ERR_FRAME_TOO_LARGE (a server breaking the protocol), or a
   * local cause: ERR_TARGET_UNUSABLE (a write failed), ERR_STOPPED (aborted).
   */
  error: CascadeError | null;
}

/**
 * Pull slices from one server over one TCP connection: HELLO with the ticket, then a window of
 * pipelined GETs. Every slice is verified against the manifest before it is handed on; a bad
 * one is put back for another try and counted against the server.
 */
export function fetchSlices(opts: SliceFetchOptions): Promise<SliceFetchResult> {
  return new SliceFetch(opts).run();
}

/** Verified slices waiting for or in their write while the next ones are verified. */
const WRITES_IN_FLIGHT = 1;
/** Data kept requested ahead, in seconds at the measured rate (covers request latency and jitter). */
const WINDOW_SECONDS = 0.25;

/**
 * One transfer as a linear loop: read the socket (an async iterator, so an unread socket is a
 * paused one: back-pressure from the stream itself), decode frames, verify each slice, hand it to
 * a bounded write queue, ask for more. The transfer is done when the loop ends with nothing left
 * to ask for.
 */
class SliceFetch {
  private socket: Socket | null = null;
  private readonly outstanding: number[] = [];
  private readonly pipeline: VerifyPipeline;
  private welcomedAt = 0;
  private welcomed = false;
  private firstSlice = true;
  /** The TCP connection was made: a failure before that means the server is unreachable. */
  private connected = false;
  private readonly result: SliceFetchResult = { slices: 0, bytes: 0, badSlices: [], error: null };
  private readonly log: Logger;
  private readonly where: string;

  constructor(private readonly opts: SliceFetchOptions) {
    this.log = opts.logger.child({ component: 'slice-client', server: opts.server.name });
    this.where = `${opts.server.host}:${opts.server.port}`;
    this.pipeline = new VerifyPipeline({
      manifest: opts.manifest,
      digest: opts.digest,
      decompress: opts.decompress,
      onCompressedVerified: opts.onCompressedVerified,
      payloadBuffer: () => slicePool(opts.manifest.sliceSize).take(),
      verifiers: opts.verifiers,
      writes: WRITES_IN_FLIGHT,
      onVerified: opts.onVerified,
      onBad: (index, length) => this.rejectSlice(index, length),
      retry: opts.retry,
      onFatal: (err) => this.socket?.destroy(err),
      signal: opts.signal,
    });
  }

  async run(): Promise<SliceFetchResult> {
    const signal = this.opts.signal;
    const why = (): CascadeError =>
      signal?.reason instanceof CascadeError ? signal.reason : new CascadeError('ERR_STOPPED', 'transfer stopped');
    const onAbort = (): void => void this.socket?.destroy(why());
    let error: CascadeError | null = null;
    try {
      if (signal?.aborted) throw why();
      signal?.addEventListener('abort', onAbort, { once: true });
      const reader = this.open();
      await this.exchange(reader);
    } catch (err) {
      error = this.classify(err);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    for (const index of this.outstanding.splice(0)) this.opts.retry(index);
    // Slices being verified or written still count for this transfer: report once they have landed.
    await this.pipeline.idle();
    error ??= this.pipeline.error;
    this.result.slices = this.pipeline.slices;
    this.result.bytes = this.pipeline.bytes;
    this.result.wireBytes = this.pipeline.wireBytes;
    this.close(error === null);
    if (error)
      this.log.info(
        { code: error.code, remoteCode: error.remoteCode, reason: error.message, slices: this.result.slices },
        'transfer from server ended early',
      );
    return { ...this.result, error };
  }

  private open(): FrameReader {
    const { host, port } = this.opts.server;
    // Received slices not yet taken before the socket pauses: two.
    const highWater = 2 * this.opts.manifest.sliceSize;
    const local = this.opts.localAddress ? { localAddress: this.opts.localAddress } : {};
    const decoder = new FrameDecoder({
      maxSliceBytes: this.opts.manifest.sliceSize,
      accept: [FrameType.WELCOME, FrameType.SLICE, FrameType.ERROR],
      sliceBody: this.opts.sliceBody && this.published(this.opts.sliceBody),
      copyTo: slicePool(this.opts.manifest.sliceSize), // slice bodies are read straight into these
    });
    const reader = connectFrames({ host, port, ...local }, decoder, highWater);
    const socket = reader.socket;
    this.socket = socket;
    socket.on('error', () => undefined); // errors reach the loop through the iterator
    const ms = this.opts.connectTimeoutMs;
    const timer = setTimeout(() => {
      socket.destroy(
        new CascadeError('ERR_SERVER_UNREACHABLE', `no connection to ${this.where} within ${ms} ms`, {
          details: { errno: 'ETIMEDOUT' },
        }),
      );
    }, ms);
    socket.once('connect', () => {
      this.connected = true;
      clearTimeout(timer);
    });
    socket.once('close', () => clearTimeout(timer));
    socket.setNoDelay(true);
    socket.write(
      encodeHello({
        session: this.opts.session,
        imageId: this.opts.manifest.imageId,
        ticket: this.opts.ticket,
        client: this.opts.clientId,
      }),
    );
    return reader;
  }

  /** The loop: frames in, GETs out, until nothing is left to ask for. */
  private async exchange(reader: FrameReader): Promise<void> {
    const stall = stallWatch(reader.socket, this.opts.stallTimeoutMs, this.opts.server.name);
    const slow = rateWatch(reader.socket, this.opts.minRate, this.opts.minRateWindowMs, this.opts.server.name);
    try {
      for (;;) {
        stall.reading(true);
        slow.reading(true);
        const next = await reader.next();
        stall.reading(false);
        slow.reading(false);
        if (next.done) throw new CascadeError('ERR_SERVER_LOST', `server ${this.where} closed the connection`);
        const { bytes, frames } = next.value;
        slow.received(bytes);
        this.opts.onReceived?.(bytes);
        let i = 0;
        try {
          for (; i < frames.length; i++) if (await this.onFrame(frames[i] as Frame)) return;
        } finally {
          dropFrames(frames, i + 1); // the frames after the last one handled
        }
      }
    } finally {
      reader.drop();
      stall.stop();
      slow.stop();
    }
  }

  /** Publish only slices asked for, at a length the manifest allows (anything else is an error anyway). */
  private published(inner: SliceBodyListener): SliceBodyListener {
    const m = this.opts.manifest;
    return expectedSlicesOnly(
      inner,
      (i) => this.welcomed && this.outstanding.includes(i),
      (i, length, flags) => wireLengthVerdict(m, i, length, flags) === 'ok',
    );
  }

  /** Handle one frame; true when the transfer is done. A frame's pooled bytes are given back here or by the pipeline. */
  private async onFrame(f: Frame): Promise<boolean> {
    if (f.type !== FrameType.SLICE) f.release?.();
    if (f.type === FrameType.ERROR) {
      const { code, message } = decodeErrorBody(f);
      throw serverRefusal(this.opts.server.name, code, message);
    }
    if (f.type === FrameType.WELCOME) {
      if (this.welcomed) throw new CascadeError('ERR_FRAME_MALFORMED', 'second WELCOME');
      this.welcomed = true;
      this.welcomedAt = Date.now();
      return this.fill();
    }
    // SLICE: answers come in request order.
    const expected = this.outstanding[0];
    if (!this.welcomed || expected === undefined || f.index !== expected) {
      f.release?.();
      throw new CascadeError('ERR_FRAME_MALFORMED', `unexpected slice ${f.index} (expected ${expected ?? 'none'})`);
    }
    this.outstanding.shift();
    await this.take(f);
    return this.fill() && (await this.settled());
  }

  /** Nothing left to ask for: wait for the slices still being verified (a bad one is asked for again). */
  private async settled(): Promise<boolean> {
    await this.pipeline.idle();
    if (this.pipeline.error) throw this.pipeline.error;
    return this.fill();
  }

  /** Keep the window full; true when nothing is outstanding and nothing more is wanted. */
  private fill(): boolean {
    const window = this.windowNow();
    while (this.outstanding.length < window) {
      const index = this.opts.next();
      if (index === undefined) break;
      this.outstanding.push(index);
      this.socket?.write(encodeGet(index));
    }
    return this.outstanding.length === 0;
  }

  /**
   * Requests to keep outstanding: enough slices to cover WINDOW_SECONDS at the rate measured so
   * far (in slices: their wire size varies with the used map and compression), plus two
   * (webtorrent's rule), capped by `window`; the whole `window` for the first second.
   */
  private windowNow(): number {
    const elapsed = (Date.now() - this.welcomedAt) / 1000;
    const rate = elapsed >= 1 ? this.pipeline.slices / elapsed : 0;
    const wanted = 2 + Math.ceil(rate * WINDOW_SECONDS);
    return Math.max(1, Math.min(this.opts.window, elapsed >= 1 ? wanted : this.opts.window));
  }

  /** Hand a slice to the verify-and-write pipeline; resolves once it has room for the next one. */
  private async take(f: Frame): Promise<void> {
    const verdict = wireLengthVerdict(this.opts.manifest, f.index, f.length, f.flags);
    if (verdict !== 'ok') {
      f.release?.();
      if (verdict === 'too-large')
        throw new CascadeError(
          'ERR_FRAME_TOO_LARGE',
          `compressed slice ${f.index} of ${f.length} bytes is larger than its payload allows`,
        );
      return this.rejectSlice(f.index, f.length);
    }
    if (this.firstSlice) {
      this.firstSlice = false;
      this.log.info({ slice: f.index, bytes: f.length, afterMs: Date.now() - this.welcomedAt }, 'first slice received');
    }
    const compressed = (f.flags & FrameFlags.COMPRESSED) !== 0;
    await this.pipeline.add(f.index, f.chunks, f.length, f.release, compressed);
    if (this.pipeline.error) throw this.pipeline.error;
  }

  private rejectSlice(index: number, length: number): void {
    this.result.badSlices.push(index);
    this.log.warn(
      { slice: index, code: 'ERR_SLICE_DIGEST_MISMATCH', bytes: length },
      'slice failed verification; fetching it again',
    );
    this.opts.retry(index);
    if (this.result.badSlices.length >= (this.opts.maxBadSlices ?? 3)) {
      throw new CascadeError(
        'ERR_SERVER_BAD',
        `${this.opts.server.name} sent ${this.result.badSlices.length} bad slices`,
      );
    }
  }

  /**
   * Our own errors as they are; a socket's as an unreachable server (refused, unroutable, timed
   * out: no connection was made) or a lost one (reset, closed after connecting).
   */
  private classify(err: unknown): CascadeError {
    if (err instanceof CascadeError) return err;
    const e = err as NodeJS.ErrnoException;
    const code = this.connected ? 'ERR_SERVER_LOST' : 'ERR_SERVER_UNREACHABLE';
    return new CascadeError(code, `connection to ${this.where} failed: ${e?.message ?? String(err)}`, {
      cause: err,
      details: { errno: e?.code },
    });
  }

  /** Done: say BYE and end; otherwise drop the connection. */
  private close(done: boolean): void {
    const socket = this.socket;
    if (!socket) return;
    if (done && socket.writable) {
      socket.end(encodeBye());
      setTimeout(() => socket.destroy(), 2000).unref();
    } else socket.destroy();
  }
}
