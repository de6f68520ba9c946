import { CascadeError, FrameFlags, holdChunk, type SliceBodyListener, type SliceStream } from '@cascade/common';
import { InflightStream, type InflightStreamOptions } from './inflight-stream.js';

/**
 * One reception of a slice: its bytes so far, referenced as the decoder delivered them (no copy;
 * all in one pooled buffer, held while the registry or any stream still reads the attempt).
 * `live` while bytes may still come; `dead` once abandoned (connection lost) or failed its
 * digest; `done` once verified and held.
 */
export class SliceAttempt {
  readonly chunks: Buffer[] = [];
  received = 0;
  state: 'live' | 'dead' | 'done' = 'live';
  /** The registry (until retired) and each stream reading the attempt. */
  private users = 1;
  private retired = false;
  private releaseBytes: (() => void) | null = null;
  constructor(
    readonly index: number,
    readonly length: number,
    /** The bytes are a zstd frame of the slice's payload (FrameFlags.COMPRESSED), forwarded as they are. */
    readonly compressed = false,
  ) {}

  add(chunk: Buffer): void {
    this.releaseBytes ??= holdChunk(chunk);
    this.chunks.push(chunk);
    this.received += chunk.length;
  }

  /** A stream reads the attempt: its bytes stay until every user is done. Returns the done (works once). */
  use(): () => void {
    this.users++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.drop();
    };
  }

  /** No longer the slice's current reception: the registry is done with it. */
  retire(state: 'dead' | 'done'): void {
    this.state = state;
    if (this.retired) return;
    this.retired = true;
    this.drop();
  }

  private drop(): void {
    if (--this.users > 0) return;
    this.releaseBytes?.();
    this.releaseBytes = null;
  }
}

/**
 * The slices this peer is receiving right now, published as their bytes arrive so a relay can
 * forward them before they are whole (cut-through). Fed by the slice client's decoder
 * (SliceBodyListener); an entry ends when the slice is verified and held (`settled`), or failed
 * or abandoned (`dropped`: the slice was put back to be fetched again). Holds no bytes of its
 * own beyond the references the slice client holds anyway until the slice is written.
 */
export class InflightSlices implements SliceBodyListener {
  private readonly attempts = new Map<number, SliceAttempt>();
  private readonly listeners = new Map<number, Set<() => void>>();

  sliceStart(index: number, length: number, flags: number): void {
    if ((flags & FrameFlags.ZERO) !== 0 || length === 0) return;
    this.attempts.get(index)?.retire('dead');
    this.attempts.set(index, new SliceAttempt(index, length, (flags & FrameFlags.COMPRESSED) !== 0));
    this.notify(index);
  }

  sliceData(index: number, chunk: Buffer): void {
    const a = this.attempts.get(index);
    if (!a || a.state !== 'live' || chunk.length === 0) return;
    a.add(chunk);
    this.notify(index);
  }

  /** The slice was verified, written and marked held. */
  settled(index: number): void {
    this.end(index, 'done');
  }

  /** The slice failed its digest or its transfer ended before it was whole: it will come again. */
  dropped(index: number): void {
    this.end(index, 'dead');
  }

  /** The reception of slice `index` under way, if any. */
  get(index: number): SliceAttempt | undefined {
    return this.attempts.get(index);
  }

  /** Slices in flight (tests, memory checks). */
  get size(): number {
    return this.attempts.size;
  }

  /** Call `fn` at every change to slice `index` (start, bytes, end); returns the unsubscribe. */
  watch(index: number, fn: () => void): () => void {
    const set = this.listeners.get(index) ?? new Set<() => void>();
    set.add(fn);
    this.listeners.set(index, set);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.listeners.get(index) === set) this.listeners.delete(index);
    };
  }

  /**
   * Wait (at most `waitMs`) until slice `index` is held (resolves null: read it from the target)
   * or arriving (resolves a stream of its bytes, which follows later receptions if this one is
   * lost). Rejects with ERR_SLICE_UNAVAILABLE when neither happens in time.
   */
  async open(index: number, o: InflightStreamOptions): Promise<SliceStream | null> {
    for (;;) {
      if (o.held()) return null;
      const a = this.attempts.get(index);
      if (a) return new InflightStream(this, a, o);
      await this.change(index, o.waitMs, `slice ${index} did not arrive within ${o.waitMs} ms`);
    }
  }

  /** Resolves at the next change to slice `index`; rejects (ERR_SLICE_UNAVAILABLE) after `ms`. */
  change(index: number, ms: number, why: string, signal?: { cancel?: () => void }): Promise<void> {
    return new Promise((resolve, reject) => {
      const stop = (): void => {
        clearTimeout(timer);
        unwatch();
      };
      const unwatch = this.watch(index, () => {
        stop();
        resolve();
      });
      const timer = setTimeout(() => {
        stop();
        reject(new CascadeError('ERR_SLICE_UNAVAILABLE', why));
      }, ms);
      if (signal)
        signal.cancel = () => {
          stop();
          resolve();
        };
    });
  }

  private end(index: number, state: 'dead' | 'done'): void {
    const a = this.attempts.get(index);
    if (a) {
      a.retire(state);
      this.attempts.delete(index);
    }
    this.notify(index);
  }

  private notify(index: number): void {
    const set = this.listeners.get(index);
    if (set) for (const fn of [...set]) fn();
  }
}

/**
 * Publish only the slices a transfer asked for, at a length their manifest allows (`fits`: the
 * payload's, or within the bound of a compressed one): bytes a server sends unasked (or at a
 * wrong length) never reach a downstream peer, and every slice published is
 * one the transfer will settle or put back. (`requested` is checked at the header: the frames
 * before it in the same socket chunk are not handled yet, so the slice may not be first.)
 */
export function expectedSlicesOnly(
  inner: SliceBodyListener,
  requested: (index: number) => boolean,
  fits: (index: number, length: number, flags: number) => boolean,
): SliceBodyListener {
  let current: number | null = null;
  return {
    sliceStart: (index, length, flags) => {
      const ok = requested(index) && fits(index, length, flags);
      current = ok ? index : null;
      if (ok) inner.sliceStart(index, length, flags);
    },
    sliceData: (index, chunk) => {
      if (index === current) inner.sliceData(index, chunk);
    },
  };
}
