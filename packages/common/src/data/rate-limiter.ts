import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Token bucket in bytes per second, shared by every connection of one server so `--rate`
 * caps the server's whole uplink. `take(n)` resolves when n bytes may be sent.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly bytesPerSecond: number,
    private readonly burst = Math.max(64 * 1024, Math.floor(bytesPerSecond / 20)),
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = this.burst;
    this.last = this.now();
  }

  take(n: number): Promise<void> {
    const next = this.chain.then(() => this.waitFor(n));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.bytesPerSecond);
    this.last = t;
  }

  private async waitFor(n: number): Promise<void> {
    this.refill();
    this.tokens -= n;
    if (this.tokens < 0) {
      // Debt is allowed (a slice is larger than the burst); wait until it is paid back.
      await sleep(Math.ceil((-this.tokens / this.bytesPerSecond) * 1000));
    }
  }
}
