/** Compressed bytes of recent slices a relay keeps to serve them compressed (DESIGN: relays forward wire bytes). */
export const WIRE_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * The wire bytes (one zstd frame each) of the slices this peer verified most recently, bounded
 * by bytes: a client that asks for a slice after it was written gets it compressed, as the
 * upstream sent it, instead of its payload read raw from the target. Oldest first out. Only
 * verified bytes go in (the pipeline puts a slice after its digest matched); nothing is
 * recompressed. A slice not here is served raw from the target.
 */
export class WireCache {
  private readonly slices = new Map<number, Buffer>();
  private bytes = 0;

  constructor(private readonly maxBytes = WIRE_CACHE_BYTES) {}

  /** Keep a copy of slice `index`'s verified wire bytes (the chunks are pooled: not kept). */
  put(index: number, chunks: readonly Buffer[]): void {
    const length = chunks.reduce((n, c) => n + c.length, 0);
    if (length === 0 || length > this.maxBytes) return;
    this.drop(index);
    while (this.bytes + length > this.maxBytes) {
      const oldest = this.slices.keys().next();
      if (oldest.done) break;
      this.drop(oldest.value);
    }
    this.slices.set(index, Buffer.concat(chunks, length));
    this.bytes += length;
  }

  /** Slice `index`'s wire bytes, or null when not kept (any more). */
  get(index: number): Buffer | null {
    return this.slices.get(index) ?? null;
  }

  /** Bytes kept (tests). */
  get size(): number {
    return this.bytes;
  }

  private drop(index: number): void {
    const b = this.slices.get(index);
    if (!b) return;
    this.slices.delete(index);
    this.bytes -= b.length;
  }
}
