import { connect, type Socket } from 'node:net';
import {
  CascadeError,
  decodeErrorBody,
  encodeBye,
  encodeGet,
  encodeHello,
  FrameDecoder,
  FrameFlags,
  FrameType,
  sliceDigest,
  sliceLength,
  toCascadeError,
  type DigestAlgorithm,
  type Frame,
  type Logger,
  type Manifest,
  type ServerRef,
} from '@cascade/common';

export interface SliceFetchOptions {
  logger: Logger;
  manifest: Manifest;
  server: ServerRef;
  ticket: string;
  session: string;
  clientId: string;
  /** Source address for the connection (this peer's own address). */
  localAddress?: string | undefined;
  /** Most GETs kept outstanding; the window in use is sized from the measured rate (see windowNow). */
  window: number;
  /** No bytes for this long with requests outstanding: the server is lost. */
  stallTimeoutMs: number;
  /** Next slice to request, or undefined when nothing more is needed from this server. */
  next: () => number | undefined;
  /** Put a slice back to be fetched again. */
  retry: (index: number) => void;
  /** A slice passed its digest check: write it and mark it held. */
  onVerified: (index: number, chunks: Buffer[]) => Promise<void>;
  /** Bad slices tolerated from one server before giving up on it. */
  maxBadSlices?: number;
  /** Hash a slice (e.g. on a worker thread); default: inline. */
  digest?: (algorithm: DigestAlgorithm, chunks: readonly Buffer[]) => Promise<string>;
  /** Abort the transfer (graceful stop): the slice being written finishes, the rest is dropped. */
  signal?: AbortSignal;
}

export interface SliceFetchResult {
  slices: number;
  bytes: number;
  badSlices: number[];
  /** Set when the transfer ended early (lost or bad server, refusal). */
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

/** Verified slices being written while the next ones are verified (memory: this many slices). */
const WRITES_IN_FLIGHT = 2;
/** Data kept requested ahead, in seconds at the measured rate (covers request latency and jitter). */
const WINDOW_SECONDS = 0.25;

class SliceFetch {
  private socket: Socket | null = null;
  private readonly decoder: FrameDecoder;
  private readonly outstanding: number[] = [];
  private readonly ready: Frame[] = [];
  private processing = false;
  private welcomedAt = 0;
  private readonly writing = new Set<Promise<void>>();
  private welcomed = false;
  private finished = false;
  private stallTimer: NodeJS.Timeout | null = null;
  private readonly result: SliceFetchResult = { slices: 0, bytes: 0, badSlices: [], error: null };
  private resolve: (r: SliceFetchResult) => void = () => undefined;
  private readonly log: Logger;
  private readonly onAbort = (): void => this.end(new CascadeError('ERR_STOPPED', 'transfer stopped'));

  constructor(private readonly opts: SliceFetchOptions) {
    this.decoder = new FrameDecoder({
      maxSliceBytes: opts.manifest.sliceSize,
      accept: [FrameType.WELCOME, FrameType.SLICE, FrameType.ERROR],
    });
    this.log = opts.logger.child({ component: 'slice-client', server: opts.server.name });
  }

  run(): Promise<SliceFetchResult> {
    return new Promise((resolve) => {
      this.resolve = resolve;
      const signal = this.opts.signal;
      if (signal?.aborted) return this.onAbort();
      signal?.addEventListener('abort', this.onAbort, { once: true });
      const { host, port } = this.opts.server;
      const socket = connect({
        host,
        port,
        ...(this.opts.localAddress ? { localAddress: this.opts.localAddress } : {}),
      });
      this.socket = socket;
      socket.setNoDelay(true);
      this.armStall();
      socket.on('connect', () => {
        socket.write(
          encodeHello({
            session: this.opts.session,
            imageId: this.opts.manifest.imageId,
            ticket: this.opts.ticket,
            client: this.opts.clientId,
          }),
        );
      });
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      socket.on('error', (err) =>
        this.end(
          new CascadeError('ERR_SERVER_LOST', `connection to ${host}:${port} failed: ${err.message}`, { cause: err }),
        ),
      );
      socket.on('close', () =>
        this.end(
          this.isDone() ? null : new CascadeError('ERR_SERVER_LOST', `server ${host}:${port} closed the connection`),
        ),
      );
    });
  }

  private isDone(): boolean {
    return (
      this.welcomed &&
      this.outstanding.length === 0 &&
      !this.processing &&
      this.ready.length === 0 &&
      this.writing.size === 0
    );
  }

  private armStall(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(
      () =>
        this.end(
          new CascadeError(
            'ERR_SERVER_LOST',
            `no data from ${this.opts.server.name} for ${this.opts.stallTimeoutMs} ms`,
          ),
        ),
      this.opts.stallTimeoutMs,
    );
  }

  private onData(chunk: Buffer): void {
    if (this.finished) return;
    this.armStall();
    try {
      for (const f of this.decoder.push(chunk)) this.onFrame(f);
    } catch (err) {
      this.end(toCascadeError(err, 'ERR_FRAME_MALFORMED'));
    }
  }

  private onFrame(f: Frame): void {
    if (f.type === FrameType.ERROR) {
      const { code, message } = decodeErrorBody(f);
      throw new CascadeError(code as never, `server ${this.opts.server.name} refused: ${message}`);
    }
    if (f.type === FrameType.WELCOME) {
      if (this.welcomed) throw new CascadeError('ERR_FRAME_MALFORMED', 'second WELCOME');
      this.welcomed = true;
      this.welcomedAt = Date.now();
      this.fill();
      return;
    }
    // SLICE: answers come in request order; `ready` holds answers not yet taken off `outstanding`.
    const expected = this.outstanding[this.ready.length];
    if (!this.welcomed || expected === undefined || f.index !== expected) {
      throw new CascadeError('ERR_FRAME_MALFORMED', `unexpected slice ${f.index} (expected ${expected ?? 'none'})`);
    }
    this.ready.push(f);
    if (this.ready.length >= 2) {
      // We stop reading while the target catches up: a slow disk is not a stalled server.
      this.socket?.pause();
      if (this.stallTimer) clearTimeout(this.stallTimer);
    }
    void this.processReady();
  }

  private fill(): void {
    const window = this.windowNow();
    while (!this.finished && this.outstanding.length < window) {
      const index = this.opts.next();
      if (index === undefined) break;
      this.outstanding.push(index);
      this.socket?.write(encodeGet(index));
    }
    if (this.isDone()) this.finish();
  }

  /**
   * Requests to keep outstanding: enough slices to cover WINDOW_SECONDS at the rate measured so
   * far, plus two (webtorrent's rule), capped by `window`; the whole `window` for the first second.
   */
  private windowNow(): number {
    const elapsed = (Date.now() - this.welcomedAt) / 1000;
    const rate = elapsed >= 1 ? this.result.bytes / elapsed : 0;
    const wanted = 2 + Math.ceil((rate * WINDOW_SECONDS) / this.opts.manifest.sliceSize);
    return Math.max(1, Math.min(this.opts.window, elapsed >= 1 ? wanted : this.opts.window));
  }

  private async processReady(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      while (!this.finished && this.ready.length > 0) {
        const f = this.ready.shift() as Frame;
        this.outstanding.shift();
        await this.handleSlice(f);
        if (this.ready.length < 2 && this.socket?.isPaused()) {
          this.socket.resume();
          this.armStall();
        }
        this.fill();
      }
    } catch (err) {
      this.end(toCascadeError(err, 'ERR_TARGET_UNUSABLE'));
    } finally {
      this.processing = false;
    }
    if (!this.finished && this.isDone()) this.finish();
  }

  private async handleSlice(f: Frame): Promise<void> {
    const m = this.opts.manifest;
    const want = sliceLength(m, f.index);
    const zero = (f.flags & FrameFlags.ZERO) !== 0;
    const digest = this.opts.digest ?? ((a, c) => Promise.resolve(sliceDigest(a, c)));
    const ok = !zero && f.length === want && (await digest(m.digest, f.chunks)) === m.digests[f.index];
    if (this.finished) return;
    if (!ok) {
      this.result.badSlices.push(f.index);
      this.log.warn(
        { slice: f.index, code: 'ERR_SLICE_DIGEST_MISMATCH', bytes: f.length },
        'slice failed verification; fetching it again',
      );
      this.opts.retry(f.index);
      if (this.result.badSlices.length >= (this.opts.maxBadSlices ?? 3)) {
        throw new CascadeError(
          'ERR_SERVER_BAD',
          `${this.opts.server.name} sent ${this.result.badSlices.length} bad slices`,
        );
      }
      return;
    }
    // The write runs while the next slice is verified; at most WRITES_IN_FLIGHT wait at once.
    const write = this.opts.onVerified(f.index, f.chunks).then(
      () => {
        this.writing.delete(write);
        this.result.slices++;
        this.result.bytes += f.length;
        if (!this.finished && this.isDone()) this.finish();
      },
      (err: unknown) => {
        this.writing.delete(write);
        this.opts.retry(f.index);
        this.end(toCascadeError(err, 'ERR_TARGET_UNUSABLE'));
      },
    );
    this.writing.add(write);
    if (this.writing.size >= WRITES_IN_FLIGHT) await Promise.race(this.writing);
  }

  private finish(): void {
    if (this.finished) return;
    this.socket?.write(encodeBye());
    this.end(null);
  }

  private end(error: CascadeError | null): void {
    if (this.finished) return;
    this.finished = true;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    for (const index of this.outstanding) this.opts.retry(index);
    this.outstanding.length = 0;
    this.ready.length = 0;
    this.result.error = error;
    const result = this.result;
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.socket?.end();
    setTimeout(() => this.socket?.destroy(), 2000).unref();
    if (error)
      this.log.info(
        { code: error.code, reason: error.message, slices: this.result.slices },
        'transfer from server ended early',
      );
    // Slices being written still count for this transfer: report once they have landed.
    void Promise.allSettled([...this.writing]).then(() => this.resolve(result));
  }
}
