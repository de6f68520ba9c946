/** How often a transferring peer reports its progress and receive rate to the coordinator. */
export const PROGRESS_REPORT_MS = 250;

/** Shortest span a rate is averaged over (a rate from the first few reads is noise). */
const MIN_SPAN_MS = 250;

/**
 * Bytes per second over a sliding window. Bytes that start after a pause of a whole window (a
 * transfer starting) are averaged over the time since they started, not over the whole window,
 * so a new transfer's rate is right from its first reports (the coordinator compares relays early).
 */
export class RateMeter {
  /** Bytes added in all (a peer's wire bytes received). */
  total = 0;
  private samples: Array<{ t: number; bytes: number }> = [];
  /** When the current run of bytes (no pause of a whole window) began. */
  private runStart = 0;

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  add(bytes: number): void {
    this.total += bytes;
    const t = this.now();
    const last = this.samples[this.samples.length - 1];
    if (!last || t - last.t >= this.windowMs) this.runStart = t;
    this.samples.push({ t, bytes });
  }

  rate(): number {
    const now = this.now();
    const cutoff = now - this.windowMs;
    this.samples = this.samples.filter((s) => s.t > cutoff);
    const bytes = this.samples.reduce((a, s) => a + s.bytes, 0);
    const span = Math.max(MIN_SPAN_MS, Math.min(this.windowMs, now - this.runStart));
    return (bytes * 1000) / span;
  }
}
