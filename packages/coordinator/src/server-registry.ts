import { newTicketKey, signTicket } from '@cascade/common';

interface ServerRecord {
  host: string;
  port: number;
  /** Shared with that server alone; signs the tickets it accepts. */
  key: Buffer;
  badSlices: number;
}

/**
 * Where each server listens, the ticket key it was given, and how many bad slices clients
 * reported against it. Keys survive a server's reconnect so tickets already issued stay valid.
 */
export class ServerRegistry {
  private readonly records = new Map<string, ServerRecord>();

  constructor(
    private readonly ticketTtlMs: number,
    private readonly quarantineAfter: number,
  ) {}

  /** Record (or update) a server's address; returns its ticket key. */
  register(id: string, host: string, port: number): Buffer {
    let r = this.records.get(id);
    if (!r) {
      r = { host, port, key: newTicketKey(), badSlices: 0 };
      this.records.set(id, r);
    }
    r.host = host;
    r.port = port;
    return r.key;
  }

  address(id: string): { host: string; port: number } | undefined {
    const r = this.records.get(id);
    return r ? { host: r.host, port: r.port } : undefined;
  }

  /** A ticket for `client` to fetch `imageId` of `session` from `server`, or undefined if unknown. */
  ticket(
    server: string,
    claims: { session: string; imageId: string; client: string },
    now: number,
  ): string | undefined {
    const r = this.records.get(server);
    if (!r) return undefined;
    return signTicket({ ...claims, server, expires: now + this.ticketTtlMs }, r.key);
  }

  /** Count bad slices against a server; true when it has now earned quarantine. */
  reportBadSlices(server: string, count: number): { total: number; quarantine: boolean } {
    const r = this.records.get(server);
    if (!r || count === 0) return { total: r?.badSlices ?? 0, quarantine: false };
    const before = r.badSlices;
    r.badSlices += count;
    return { total: r.badSlices, quarantine: before < this.quarantineAfter && r.badSlices >= this.quarantineAfter };
  }
}
