/** What one report did to its server: held back for a while (suspect), or now marked unreachable. */
export type ReportVerdict = 'suspect' | 'unreachable';

export interface UnreachableOptions {
  /** Distinct clients whose reports mark a server unreachable. */
  threshold: number;
  /** How long a report counts. */
  windowMs: number;
  /** A server reported once is given no new client for this long, then tried again. */
  suspectMs: number;
  /** A server marked unreachable is tried again after this long. */
  retryMs: number;
}

export const DEFAULT_UNREACHABLE: UnreachableOptions = {
  threshold: 3,
  windowMs: 5 * 60_000,
  suspectMs: 15_000,
  retryMs: 60_000,
};

/**
 * Reports that a server could not be reached (`ERR_SERVER_UNREACHABLE` from clients it was
 * assigned to): a circuit breaker per server. The first report holds the server back from new
 * clients for `suspectMs` (its running transfers go on, and one of them succeeding clears it);
 * `threshold` distinct clients within `windowMs` — or every client the session has that could
 * report, when there are fewer — mark it unreachable: shown so, and tried again only every
 * `retryMs`. A transfer that succeeds from it (or its serving again) clears everything.
 */
export class UnreachableReports {
  private readonly reports = new Map<string, Map<string, number>>();
  private readonly marked = new Set<string>();
  /** Held-back servers and when they may be tried again. */
  private readonly held = new Map<string, number>();
  private readonly o: UnreachableOptions;

  constructor(opts: Partial<UnreachableOptions> = {}) {
    this.o = { ...DEFAULT_UNREACHABLE, ...opts };
  }

  /**
   * Record `client`'s report about `server`. `reporters` is how many clients of the session could
   * report at all (so one lone client is believed).
   */
  report(server: string, client: string, now: number, reporters = Infinity): ReportVerdict {
    const byClient = this.reports.get(server) ?? new Map<string, number>();
    this.reports.set(server, byClient);
    byClient.set(client, now);
    for (const [c, at] of byClient) if (now - at > this.o.windowMs) byClient.delete(c);
    const threshold = Math.max(1, Math.min(this.o.threshold, reporters));
    if (byClient.size >= threshold) {
      this.marked.add(server);
      this.held.set(server, now + this.o.retryMs);
      return 'unreachable';
    }
    this.held.set(server, now + this.o.suspectMs);
    return 'suspect';
  }

  /** How many distinct clients reported it (within the window of the last report). */
  reportCount(server: string): number {
    return this.reports.get(server)?.size ?? 0;
  }

  isUnreachable(server: string): boolean {
    return this.marked.has(server);
  }

  /** Servers whose hold ended by `now`: give them clients again (they stay marked until cleared). */
  due(now: number): string[] {
    const out: string[] = [];
    for (const [server, until] of this.held) if (until <= now) out.push(server);
    for (const server of out) this.held.delete(server);
    return out;
  }

  /** The server served someone, or serves anew, or is gone: forget what was said about it. */
  clear(server: string): boolean {
    const known = this.reports.delete(server);
    this.held.delete(server);
    return this.marked.delete(server) || known;
  }
}
