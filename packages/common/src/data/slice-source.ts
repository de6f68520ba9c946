import type { FileHandle } from 'node:fs/promises';
import { CascadeError } from '../errors.js';
import type { DigestAlgorithm } from '../manifest/digest.js';
import { readPayload } from '../manifest/build-manifest.js';
import { slicePayloadLength, slicePieces, zeroMap, type Manifest, type SliceBitmap } from '../manifest/manifest.js';
import { corruptStream, isCompressedSlice, isSliceStream, type SliceBody, type SliceStream } from './slice-stream.js';

/** Where a server's slices come from: the seeder's image, or a peer's verified target. */
export interface SliceSource {
  readonly manifest: Manifest;
  /** True when slice `index` can be served now. */
  has(index: number): boolean;
  /**
   * The slice's payload (its used bytes; the whole slice without a used map); rejects with
   * ERR_SLICE_UNAVAILABLE if not held (relay: after waiting).
   */
  readSlice(index: number): Promise<Buffer>;
  /**
   * Relay cut-through: the slice's bytes, or — for a slice still arriving — a stream of them as
   * they come. Absent: the server uses readSlice.
   */
  openSlice?(index: number): Promise<SliceBody>;
  /**
   * The caller is done with a buffer readSlice gave it (sent and drained): the source may read
   * into it again. Optional; a source ignores buffers it did not allocate.
   */
  recycle?(buf: Buffer): void;
}

/**
 * A relay's slices in flight: waits (bounded by the relay wait) until slice `index` is either
 * held (resolves null: read it from the file) or arriving (resolves a stream of its bytes).
 */
export type LiveSlices = (index: number) => Promise<SliceStream | null>;

/** Read exactly `length` bytes at `position` (into `into` when given), or fail. */
export async function readFully(fh: FileHandle, length: number, position: number, into?: Buffer): Promise<Buffer> {
  const buf = into ?? Buffer.allocUnsafeSlow(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) {
      throw new CascadeError('ERR_IMAGE_UNREADABLE', `short read at ${position + got} (wanted ${length} bytes)`);
    }
    got += bytesRead;
  }
  return buf;
}

/** Slice buffers a FileSliceSource keeps for reuse (its connections read one ahead each). */
const MAX_SPARE_BUFFERS = 4;

/**
 * Slices read from an open file. `held` says which slices may be served (all, for a seeder;
 * the verified ones, for a peer).
 */
export class FileSliceSource implements SliceSource {
  private readonly zero: SliceBitmap;
  /** Full-slice buffers this source allocated and got back: read into again (fresh memory costs page faults). */
  private readonly spare: Buffer[] = [];
  private readonly mine = new WeakSet<ArrayBufferLike>();
  constructor(
    readonly manifest: Manifest,
    private readonly fh: FileHandle,
    private readonly held: (index: number) => boolean = () => true,
    private readonly waitFor?: (index: number) => Promise<void>,
    private readonly live?: LiveSlices,
  ) {
    this.zero = zeroMap(manifest);
  }

  has(index: number): boolean {
    return index >= 0 && index < this.manifest.digests.length && this.held(index);
  }

  isZero(index: number): boolean {
    return this.zero.get(index);
  }

  async readSlice(index: number): Promise<Buffer> {
    if (index < 0 || index >= this.manifest.digests.length) {
      throw new CascadeError('ERR_SLICE_OUT_OF_RANGE', `slice ${index} is outside the image`);
    }
    if (!this.held(index)) {
      if (!this.waitFor) throw new CascadeError('ERR_SLICE_UNAVAILABLE', `slice ${index} is not held`);
      await this.waitFor(index);
    }
    const m = this.manifest;
    const into = this.spare.pop() ?? Buffer.allocUnsafeSlow(m.sliceSize);
    this.mine.add(into.buffer);
    const path = { path: m.name, size: m.size };
    const buf = await readPayload(this.fh, path, into, slicePieces(m, index));
    if (buf.length !== slicePayloadLength(m, index))
      throw new CascadeError('ERR_INTERNAL', `slice ${index}: short payload`);
    return buf;
  }

  recycle(buf: Buffer): void {
    if (!this.mine.delete(buf.buffer) || this.spare.length >= MAX_SPARE_BUFFERS) return;
    this.spare.push(Buffer.from(buf.buffer, 0, this.manifest.sliceSize));
  }

  /** A held slice from the file; one still arriving (relay) as a stream of its bytes. */
  async openSlice(index: number): Promise<SliceBody> {
    if (this.live && index >= 0 && index < this.manifest.digests.length && !this.held(index)) {
      const stream = await this.live(index);
      if (stream) return stream;
    }
    return this.readSlice(index);
  }
}

/** A source that changes how another's slices are read: the rest is the inner source's. */
abstract class WrappedSliceSource implements SliceSource {
  constructor(protected readonly inner: SliceSource) {}
  get manifest(): Manifest {
    return this.inner.manifest;
  }
  has(index: number): boolean {
    return this.inner.has(index);
  }
  recycle(buf: Buffer): void {
    this.inner.recycle?.(buf);
  }
  abstract readSlice(index: number): Promise<Buffer>;
}

/**
 * Slices compressed once (the seeder's cache): a slice the cache holds goes out as its compressed
 * bytes (FrameFlags.COMPRESSED), any other as the inner source has it.
 */
export class CompressedSliceSource extends WrappedSliceSource {
  constructor(
    inner: SliceSource,
    private readonly compressed: (index: number) => Promise<Buffer | null>,
  ) {
    super(inner);
  }
  readSlice(index: number): Promise<Buffer> {
    return this.inner.readSlice(index);
  }
  async openSlice(index: number): Promise<SliceBody> {
    if (this.inner.has(index)) {
      const zstd = await this.compressed(index);
      if (zstd) return { zstd };
    }
    return this.inner.openSlice ? this.inner.openSlice(index) : this.inner.readSlice(index);
  }
}

/**
 * Fault injection for tests and drills: a source that flips one byte of chosen slices.
 * `every` corrupts every Nth slice served (index % every === every - 1); `once` corrupts each
 * listed index the first time only.
 */
export class CorruptingSliceSource extends WrappedSliceSource {
  private readonly onceLeft: Set<number>;
  constructor(
    inner: SliceSource,
    private readonly fault: { every?: number; once?: number[] },
  ) {
    super(inner);
    this.onceLeft = new Set(fault.once ?? []);
  }
  async readSlice(index: number): Promise<Buffer> {
    return this.corrupt(index, await this.inner.readSlice(index));
  }
  async openSlice(index: number): Promise<SliceBody> {
    const body = this.inner.openSlice ? await this.inner.openSlice(index) : await this.inner.readSlice(index);
    if (isSliceStream(body)) return this.hit(index) ? corruptStream(body) : body;
    return isCompressedSlice(body) ? { zstd: this.corrupt(index, body.zstd) } : this.corrupt(index, body);
  }
  private hit(index: number): boolean {
    const every = this.fault.every;
    return (every !== undefined && index % every === every - 1) || this.onceLeft.delete(index);
  }
  private corrupt(index: number, buf: Buffer): Buffer {
    if (!this.hit(index) || buf.length === 0) return buf;
    const copy = Buffer.from(buf);
    copy[copy.length >> 1] = (copy[copy.length >> 1] ?? 0) ^ 0xff;
    return copy;
  }
}

/** Parse a fault spec: `corrupt-every:10`, `corrupt-once:3,7`. */
export function parseFaultSpec(spec: string): { every?: number; once?: number[] } {
  const m = /^corrupt-(every|once):([\d,]+)$/.exec(spec.trim());
  if (!m) throw new CascadeError('ERR_BAD_CONFIG', `unknown fault "${spec}" (use corrupt-every:N or corrupt-once:I,J)`);
  const nums = (m[2] ?? '').split(',').filter(Boolean).map(Number);
  if (m[1] === 'every') {
    const n = nums[0];
    if (n === undefined || n < 1) throw new CascadeError('ERR_BAD_CONFIG', `corrupt-every needs N ≥ 1`);
    return { every: n };
  }
  return { once: nums };
}

/** How a VerifyingSliceSource hashes a slice (inline, or a DigestWorker's digest()). */
export type SliceHasher = (algorithm: DigestAlgorithm, chunks: readonly Buffer[]) => Promise<string>;

/**
 * A server that checks its own bytes: every slice read is hashed and compared with the manifest
 * before it is sent. A mismatch means the image changed under the server (a block device written
 * by another system, whose mtime says nothing): the read rejects with ERR_IMAGE_CHANGED (the
 * client gets it in an ERROR frame, never the changed bytes) and `onChanged` hears of it once.
 */
export class VerifyingSliceSource extends WrappedSliceSource {
  private changed: CascadeError | null = null;
  constructor(
    inner: SliceSource,
    private readonly hash: SliceHasher,
    private readonly onChanged: (err: CascadeError) => void,
  ) {
    super(inner);
  }
  async readSlice(index: number): Promise<Buffer> {
    if (this.changed) throw this.changed;
    const buf = await this.inner.readSlice(index);
    const m = this.inner.manifest;
    if ((await this.hash(m.digest, [buf])) === m.digests[index]) return buf;
    if (!this.changed) {
      this.changed = new CascadeError(
        'ERR_IMAGE_CHANGED',
        `slice ${index} of ${m.name} no longer matches its manifest digest: the image changed while being served`,
        { details: { slice: index } },
      );
      this.onChanged(this.changed);
    }
    throw this.changed;
  }
}
