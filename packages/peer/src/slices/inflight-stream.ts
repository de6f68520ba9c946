import type { SliceStream } from '@cascade/common';
import type { InflightSlices, SliceAttempt } from './inflight-slices.js';

export interface InflightStreamOptions {
  /** Longest wait for any change to the slice (the relay wait). */
  waitMs: number;
  /** True once the slice is verified and held. */
  held: () => boolean;
  /** The slice's payload from `offset` on, read from the target (held by then). */
  readFrom: (offset: number) => Promise<Buffer>;
}

/**
 * A slice a relay forwards while receiving it: the bytes of its current reception as they
 * arrive (subarrays of the received chunks, never copies). When that reception is lost or fails
 * its digest, the stream gives what had been received, then goes on from the offset reached
 * with the next reception of the slice in the same form (from any upstream), or — raw only —
 * from the target once the slice is held (a compressed stream's later bytes exist only on the
 * wire: it then waits for another compressed reception of the same length); with no change for `waitMs` the next read rejects with ERR_SLICE_UNAVAILABLE. The bytes are not verified here:
 * the receiving peer checks the whole slice against its digest, as it does any slice.
 */
export class InflightStream implements SliceStream {
  readonly length: number;
  readonly index: number;
  /** Wire bytes of a compressed reception, forwarded as they came (never recompressed). */
  readonly compressed: boolean;
  private attempt: SliceAttempt | null;
  /** Ends this stream's use of `attempt` (its bytes stay until then). */
  private unuse: () => void;
  /** Position in the current reception: chunk number, and the slice offset where it starts. */
  private chunk = 0;
  private chunkStart = 0;
  private offset = 0;
  private closed = false;
  private readonly waiting: { cancel?: () => void } = {};

  constructor(
    private readonly slices: InflightSlices,
    first: SliceAttempt,
    private readonly o: InflightStreamOptions,
  ) {
    this.attempt = first;
    this.unuse = first.use();
    this.index = first.index;
    this.length = first.length;
    this.compressed = first.compressed;
  }

  /** Bytes given so far. */
  get sent(): number {
    return this.offset;
  }

  async next(): Promise<Buffer | null> {
    for (;;) {
      if (this.closed || this.offset >= this.length) {
        this.detach();
        return null;
      }
      // Bytes already received are given even from a reception since lost or failed: the
      // receiving peer's digest check is the judge, and cut-through is kept.
      const a = this.attempt;
      const c = a && this.take(a);
      if (c) return c;
      if (!a || a.state === 'dead') {
        const now = this.slices.get(this.index);
        if (now && now !== a && now.length === this.length && now.compressed === this.compressed) {
          this.follow(now);
          continue;
        }
        // The target holds the payload, not these wire bytes: a compressed stream cannot go on from it.
        if (this.o.held() && !this.compressed) return this.rest();
      }
      await this.slices.change(
        this.index,
        this.o.waitMs,
        `slice ${this.index} stopped arriving at byte ${this.offset} of ${this.length} and did not resume within ${this.o.waitMs} ms`,
        this.waiting,
      );
    }
  }

  close(): void {
    this.closed = true;
    this.detach();
    this.waiting.cancel?.();
  }

  /**
   * Done with the current reception. A chunk given out stays valid after this only for a caller
   * that took its own hold on it (holdChunk) before asking for the next one or closing.
   */
  private detach(): void {
    this.attempt = null;
    this.unuse();
  }

  /** The reception's next bytes past the offset already given, or null when it has none yet. */
  private take(a: SliceAttempt): Buffer | null {
    while (this.chunk < a.chunks.length) {
      const c = a.chunks[this.chunk] as Buffer;
      const end = this.chunkStart + c.length;
      const from = this.offset - this.chunkStart;
      this.chunk++;
      this.chunkStart = end;
      if (end <= this.offset) continue;
      this.offset = end;
      return from > 0 ? c.subarray(from) : c;
    }
    return null;
  }

  /** Go on with another reception of the slice, from the offset already given. */
  private follow(a: SliceAttempt): void {
    this.unuse();
    this.attempt = a;
    this.unuse = a.use();
    this.chunk = 0;
    this.chunkStart = 0;
  }

  private async rest(): Promise<Buffer> {
    this.detach();
    const buf = await this.o.readFrom(this.offset);
    this.offset = this.length;
    return buf;
  }
}
