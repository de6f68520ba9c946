/**
 * slices/ — the peer's per-slice state: which slices it holds verified, which it still needs and
 * in what order (slice-store.ts), and the slices arriving right now with their bytes, published
 * for relay cut-through (inflight-slices.ts, inflight-stream.ts), and the compressed bytes of the
 * latest ones (wire-cache.ts).
 */
import { CascadeError, SliceBitmap, sliceLength, zeroMap, type Manifest } from '@cascade/common';
import { InflightSlices } from './inflight-slices.js';
import { WireCache } from './wire-cache.js';

/**
 * Which slices this peer holds verified, which it still needs (in order), and who waits for
 * one to arrive (relay serving). A slice is marked held only after it was verified and written.
 */
export class SliceStore {
  readonly held: SliceBitmap;
  readonly zero: SliceBitmap;
  /** Slices being received, published as their bytes arrive (relay cut-through). */
  readonly inflight = new InflightSlices();
  /** Compressed bytes of recent verified slices, served compressed while kept (wire-cache.ts). */
  readonly wire = new WireCache();
  private heldCount = 0;
  private heldBytesValue = 0;
  private queue: number[] = [];
  private readonly waiters = new Map<number, Array<() => void>>();

  constructor(readonly manifest: Manifest) {
    this.held = new SliceBitmap(manifest.digests.length);
    this.zero = zeroMap(manifest);
  }

  get count(): number {
    return this.manifest.digests.length;
  }
  get heldSlices(): number {
    return this.heldCount;
  }
  get heldBytes(): number {
    return this.heldBytesValue;
  }
  get complete(): boolean {
    return this.heldCount === this.count;
  }

  has(index: number): boolean {
    return this.held.get(index);
  }

  markHeld(index: number): void {
    if (this.held.get(index)) return;
    this.held.set(index);
    this.heldCount++;
    this.heldBytesValue += sliceLength(this.manifest, index);
    this.inflight.settled(index);
    const w = this.waiters.get(index);
    if (w) {
      this.waiters.delete(index);
      for (const fn of w) fn();
    }
  }

  /** Rebuild the fetch queue from what is missing (non-zero slices only, in index order). */
  resetQueue(): void {
    this.queue = [];
    for (let i = this.count - 1; i >= 0; i--) if (!this.held.get(i) && !this.zero.get(i)) this.queue.push(i);
  }

  /** Next slice to request, or undefined. */
  next(): number | undefined {
    while (this.queue.length > 0) {
      const i = this.queue.pop() as number;
      if (!this.held.get(i)) return i;
    }
    return undefined;
  }

  /**
   * Put a slice back (a failed or abandoned request): the queue stays in index order, so slices
   * put back together come out lowest first, ahead of every slice not yet handed out. A moved
   * relay asks its new server for them in the order its own clients wait for them (otherwise a
   * chain stalls a whole slice behind the one it gets first).
   */
  retry(index: number): void {
    this.inflight.dropped(index);
    if (this.held.get(index)) return;
    // The queue is a stack, highest index at the bottom: find the place that keeps it sorted.
    let at = this.queue.length;
    while (at > 0 && (this.queue[at - 1] as number) < index) at--;
    if (this.queue[at - 1] !== index) this.queue.splice(at, 0, index);
  }

  missing(): number {
    return this.count - this.heldCount;
  }

  /** Resolve once slice `index` is held, or reject after `timeoutMs`. */
  waitFor(index: number, timeoutMs: number): Promise<void> {
    if (this.held.get(index)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const list = this.waiters.get(index);
        if (list)
          this.waiters.set(
            index,
            list.filter((f) => f !== done),
          );
        reject(new CascadeError('ERR_SLICE_UNAVAILABLE', `slice ${index} did not arrive within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const list = this.waiters.get(index) ?? [];
      list.push(done);
      this.waiters.set(index, list);
    });
  }
}
