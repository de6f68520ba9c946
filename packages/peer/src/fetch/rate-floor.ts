/** The window a transfer's minimum useful rate is measured over (the floor itself is --min-rate). */
export const MIN_RATE_WINDOW_MS = 10_000;
/** Marks kept at most (one per check): bounds memory when the client hardly waits at all. */
const MAX_MARKS = 1000;

/**
 * The minimum useful rate of one transfer: over the last `windowMs` spent *waiting for the
 * server* (time spent verifying a slice or waiting for the disk never counts, so a slow target
 * never blames its server), at least `floor` bytes/s must have arrived. A window in which no
 * byte at all arrived is a stall, left to --stall. Time is injected for tests.
 */
export class RateFloor {
  private waited = 0;
  private waitingSince: number | null = null;
  private bytes = 0;
  private readonly marks: Array<{ waited: number; bytes: number }> = [{ waited: 0, bytes: 0 }];

  constructor(
    readonly floor: number,
    readonly windowMs: number = MIN_RATE_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The client starts (true) or stops (false) waiting for bytes from the server. */
  reading(on: boolean): void {
    const t = this.now();
    if (on && this.waitingSince === null) this.waitingSince = t;
    else if (!on && this.waitingSince !== null) {
      this.waited += t - this.waitingSince;
      this.waitingSince = null;
    }
  }

  received(n: number): void {
    this.bytes += n;
  }

  private waitedNow(): number {
    return this.waited + (this.waitingSince === null ? 0 : this.now() - this.waitingSince);
  }

  /**
   * Take a mark (call about every windowMs / 10). The rate over the last full window of
   * waiting, in bytes/s, when it is below the floor (and above zero); null otherwise.
   */
  check(): number | null {
    if (this.floor <= 0) return null;
    const w = this.waitedNow();
    this.marks.push({ waited: w, bytes: this.bytes });
    while (this.marks.length > MAX_MARKS || (this.marks.length > 1 && w - this.marks[1]!.waited >= this.windowMs))
      this.marks.shift();
    const base = this.marks[0]!;
    const span = w - base.waited;
    if (span < this.windowMs) return null;
    const got = this.bytes - base.bytes;
    const rate = (got * 1000) / span;
    return got > 0 && rate < this.floor ? rate : null;
  }
}
