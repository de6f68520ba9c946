/**
 * Reused receive buffers. Every Buffer a socket hands Node's default reader is a fresh 64 KiB
 * allocation outside the JS heap, and V8 runs a full mark-compact for every ~64 MB of those: on a
 * 1 GiB transfer that was ~40 collections, a third of the receiving peer's CPU (bench 1). The slice
 * client instead reads into pooled buffers and copies each slice's body into a pooled slice-sized
 * buffer that is reused once nothing refers to it any more.
 *
 * A pooled buffer is counted: it starts with one reference (its taker's), every other holder of
 * bytes inside it takes one with `holdChunk` (the relay's in-flight registry, a forwarding stream,
 * a socket write still queued), and each gives it back exactly once. At zero it returns to its
 * pool's free list, and only from there is it handed out (and written into) again. A reference
 * never given back only costs the reuse (the garbage collector frees the buffer as before); a
 * bug the other way round would let new bytes overwrite ones still in use, so holders take their
 * reference before they hand the bytes on, and every release function works once only.
 */

interface Owner {
  refs: number;
  readonly pool: BufferPool;
  readonly buf: Buffer;
}

/** The pooled buffer behind each ArrayBuffer the pools handed out. */
const owners = new WeakMap<ArrayBufferLike, Owner>();

const NOTHING = (): void => undefined;

/** Fixed-size buffers, reused once every reference to them is given back. */
export class BufferPool {
  private readonly free: Buffer[] = [];
  /** Buffers made, and buffers handed out again from the free list (tests, benchmarks). */
  made = 0;
  reused = 0;

  /**
   * @param size bytes of every buffer
   * @param keep most free buffers kept for reuse (the rest are left to the garbage collector)
   * @param shared each buffer over a SharedArrayBuffer of its own, which hashing threads read
   *   where it lies (DigestPool: no copy into memory of theirs)
   */
  constructor(
    readonly size: number,
    readonly keep: number,
    readonly shared = false,
  ) {}

  /** A buffer of `size` bytes holding one reference (the caller's): give it back with `release`. */
  take(): { buf: Buffer; release: () => void } {
    let buf = this.free.pop();
    if (buf) this.reused++;
    else {
      buf = this.shared ? Buffer.from(new SharedArrayBuffer(this.size)) : Buffer.allocUnsafeSlow(this.size);
      this.made++;
    }
    const owner: Owner = { refs: 1, pool: this, buf };
    owners.set(buf.buffer, owner);
    return { buf, release: once(owner) };
  }

  /** Free buffers kept now. */
  get idle(): number {
    return this.free.length;
  }

  private put(buf: Buffer): void {
    owners.delete(buf.buffer);
    if (this.free.length < this.keep) this.free.push(buf);
  }

  /** @internal the last reference to `o` was given back. */
  static recycle(o: Owner): void {
    o.pool.put(o.buf);
  }
}

function once(o: Owner): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--o.refs === 0) BufferPool.recycle(o);
  };
}

/**
 * Take a reference to the pooled buffer `chunk` lies in, for as long as the bytes are used
 * (e.g. until a socket write of them has completed); returns its release, which works once.
 * Bytes from anywhere else need nothing: their release does nothing.
 */
export function holdChunk(chunk: Uint8Array): () => void {
  const o = owners.get(chunk.buffer);
  if (!o || o.refs <= 0) return NOTHING;
  o.refs++;
  return once(o);
}

/** True when `chunk` lies in a pooled buffer that is in use (tests). */
export function isPooled(chunk: Uint8Array): boolean {
  return owners.has(chunk.buffer);
}
