/**
 * Reports that a server could not be reached (`ERR_SERVER_UNREACHABLE` from its clients). One
 * client's report may be its own network's fault; `threshold` distinct clients within `windowMs`
 * mean the server is unreachable: stop assigning it and show it so. A transfer that succeeds
 * from the server clears its reports.
 */
export class UnreachableReports {
  private readonly reports = new Map<string, Map<string, number>>();
  private readonly marked = new Set<string>();

  constructor(
    private readonly threshold = 3,
    private readonly windowMs = 5 * 60_000,
  ) {}

  /** Record `client`'s report about `server`; true when this report marks the server unreachable. */
  report(server: string, client: string, now: number): boolean {
    const byClient = this.reports.get(server) ?? new Map<string, number>();
    this.reports.set(server, byClient);
    byClient.set(client, now);
    for (const [c, at] of byClient) if (now - at > this.windowMs) byClient.delete(c);
    if (this.marked.has(server) || byClient.size < this.threshold) return false;
    this.marked.add(server);
    return true;
  }

  isUnreachable(server: string): boolean {
    return this.marked.has(server);
  }

  /** The server served someone (or left): forget what was said about it. */
  clear(server: string): void {
    this.reports.delete(server);
    this.marked.delete(server);
  }
}
