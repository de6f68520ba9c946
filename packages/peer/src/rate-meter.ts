/** Bytes per second over a sliding window. */
export class RateMeter {
  private samples: Array<{ t: number; bytes: number }> = [];

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  add(bytes: number): void {
    this.samples.push({ t: this.now(), bytes });
  }

  rate(): number {
    const cutoff = this.now() - this.windowMs;
    this.samples = this.samples.filter((s) => s.t > cutoff);
    const bytes = this.samples.reduce((a, s) => a + s.bytes, 0);
    return (bytes * 1000) / this.windowMs;
  }
}
