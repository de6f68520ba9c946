import {
  decompressAndDigest,
  isCascadeError,
  sliceDigest,
  slicePayloadLength,
  toCascadeError,
  type CascadeError,
  type DigestAlgorithm,
  type Manifest,
} from '@cascade/common';

/** Decompress `wire` (one zstd frame) into `into` and digest the `imageLength` bytes it holds. */
export type DecompressDigest = (
  algorithm: DigestAlgorithm,
  wire: readonly Buffer[],
  imageLength: number,
  into: Buffer,
) => Promise<string>;

/** A slice as it came off the wire: its bytes (`length` of them), and whether they are a zstd frame of its payload. */
interface WireSlice {
  index: number;
  chunks: Buffer[];
  length: number;
  compressed: boolean;
}

export interface VerifyPipelineOptions {
  manifest: Manifest;
  /** Hash a slice (a DigestPool's digest, or inline). */
  digest?: ((algorithm: DigestAlgorithm, chunks: readonly Buffer[]) => Promise<string>) | undefined;
  /**
   * Decompress a compressed slice into `into` and digest its payload (a DigestPool's
   * digestCompressed, on its threads; default inline). Rejects ERR_SLICE_DECOMPRESS when corrupt.
   */
  decompress?: DecompressDigest | undefined;
  /** A compressed slice passed its digest: its wire bytes (pooled: copy what you keep), before its write. */
  onCompressedVerified?: ((index: number, wire: readonly Buffer[]) => void) | undefined;
  /** Where decompressed payloads go (a pooled buffer of at least the slice size each). */
  payloadBuffer?: (() => { buf: Buffer; release: () => void }) | undefined;
  /** Slices verified at once (the hashing pool's size; default 1). */
  verifiers?: number | undefined;
  /** Verified slices waiting for or in their write, beyond the ones being verified (default 1). */
  writes?: number;
  /** Write a verified slice and mark it held (resolves once written). */
  onVerified: (index: number, chunks: Buffer[]) => Promise<void>;
  /** A slice failed its digest (it is already put back); may throw to end the transfer. */
  onBad: (index: number, length: number) => void;
  /** Put a slice back to be fetched again (a write that failed, a stop before writing). */
  retry: (index: number) => void;
  /** The transfer must end with this error (e.g. destroy the socket with it). */
  onFatal: (err: CascadeError) => void;
  /**
   * A stop: verified slices not yet handed to the write are put back instead — except after a
   * move (reason ERR_MOVED), where a slice that passed is as good as any and is written.
   */
  signal?: AbortSignal | undefined;
}

/**
 * The verify-then-write half of a transfer: slices are verified several at once (up to
 * `verifiers`, on the hashing pool's threads) while the socket keeps being read, and each is
 * written as soon as it passed (one write at a time), in whatever order the digests finish.
 * Memory is bounded: `add` waits while `verifiers + writes` slices are held, so the reader stops reading (back-pressure).
 * A failure (bad server, write error, hashing error) is recorded once and handed to `onFatal`.
 */
export class VerifyPipeline {
  /** Slices written, their payload bytes, and the bytes they took on the wire. */
  slices = 0;
  bytes = 0;
  wireBytes = 0;
  error: CascadeError | null = null;
  private held = 0;
  private verifying = 0;
  private readonly verifiers: number;
  private readonly limit: number;
  private waiters: Array<() => void> = [];
  /** Writes run one after another, in the order slices passed (positional, so any order is safe). */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly o: VerifyPipelineOptions) {
    this.verifiers = Math.max(1, o.verifiers ?? 1);
    this.limit = this.verifiers + Math.max(1, o.writes ?? 1);
  }

  /**
   * Take a slice in; resolves once there is room for the next one. `release` (pooled bytes) is
   * called once the slice is written, dropped or put back: the chunks are not used after that.
   */
  async add(index: number, chunks: Buffer[], length: number, release?: () => void, compressed = false): Promise<void> {
    const s: WireSlice = { index, chunks, length, compressed };
    this.held++;
    this.verifying++;
    this.process(s)
      .catch((err: unknown) => this.fail(err, index))
      .finally(() => {
        release?.();
        this.held--;
        this.wake();
      });
    await this.until(() => this.verifying < this.verifiers && this.held < this.limit);
  }

  /** Stopped for good: a move (ERR_MOVED) is not a stop, the peer goes on with the next server. */
  private stopped(): boolean {
    const signal = this.o.signal;
    return signal?.aborted === true && !isCascadeError(signal.reason, 'ERR_MOVED');
  }

  /** Resolves when every slice taken in is written (or dropped). */
  idle(): Promise<void> {
    return this.until(() => this.held === 0);
  }

  private async process(s: WireSlice): Promise<void> {
    const { index, length } = s;
    const m = this.o.manifest;
    const payload = s.compressed ? this.o.payloadBuffer?.() : undefined;
    try {
      let hex: string | null;
      try {
        hex = await this.verify(s, payload?.buf);
      } finally {
        this.verifying--;
        this.wake();
      }
      if (hex === null || hex !== m.digests[index]) return this.o.onBad(index, length);
      if (this.error || this.stopped()) return this.o.retry(index);
      if (s.compressed) this.o.onCompressedVerified?.(index, s.chunks);
      const bytes = payload ? [payload.buf.subarray(0, slicePayloadLength(m, index))] : s.chunks;
      const written = this.writing.then(() => this.o.onVerified(index, bytes));
      this.writing = written.catch(() => undefined);
      await written.catch((err: unknown) => {
        throw toCascadeError(err, 'ERR_TARGET_UNUSABLE');
      });
    } finally {
      payload?.release();
    }
    this.slices++;
    this.bytes += s.compressed ? slicePayloadLength(m, index) : length;
    this.wireBytes += length;
  }

  /**
   * The digest of the slice's payload: hashed as it came, or decompressed (into `into`) and
   * hashed; null when a compressed slice does not decompress to its payload (a bad slice).
   */
  private async verify(s: WireSlice, into: Buffer | undefined): Promise<string | null> {
    const m = this.o.manifest;
    if (!s.compressed) {
      return this.o.digest ? this.o.digest(m.digest, s.chunks) : sliceDigest(m.digest, s.chunks);
    }
    const imageLength = slicePayloadLength(m, s.index);
    const out = into ?? Buffer.allocUnsafe(imageLength);
    try {
      if (this.o.decompress) return await this.o.decompress(m.digest, s.chunks, imageLength, out);
      const wire = s.chunks.length === 1 ? (s.chunks[0] as Buffer) : Buffer.concat(s.chunks);
      return decompressAndDigest(m.digest, wire, imageLength, out).hex;
    } catch (err) {
      if (isCascadeError(err, 'ERR_SLICE_DECOMPRESS')) return null;
      throw err;
    }
  }

  /** The first failure ends the transfer; a slice whose write or hash failed is fetched again. */
  private fail(err: unknown, index: number): void {
    const e = toCascadeError(err, 'ERR_INTERNAL');
    if (e.code !== 'ERR_SERVER_BAD') this.o.retry(index);
    if (this.error) return;
    this.error = e;
    this.o.onFatal(e);
  }

  private until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (ready()) resolve();
        else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}
