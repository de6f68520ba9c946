import { CascadeError } from '../errors.js';

/** Defaults of the data-plane limits (README, Security). */
export const SLICE_SERVER_DEFAULTS = {
  helloTimeoutMs: 5000,
  idleTimeoutMs: 120_000,
  perAddressConnections: 4,
  maxConnections: (capacity: number): number => Math.max(32, 4 * capacity),
} as const;

/** What the gate needs of a connection: a way to close it with a reason. */
export interface Gated {
  abort(err: CascadeError): void;
}

export interface ConnectionGateLimits {
  /** Connections held at once in total, admitted clients included. */
  maxConnections: number;
  /** Connections one address may hold beyond the server's capacity (those not admitted yet, mostly). */
  perAddress: number;
  /** The server's current capacity (admitted clients one address may hold, at most). */
  capacity: () => number;
}

/**
 * Who may hold a connection to a slice server before proving a ticket. A connection is *pending*
 * from accept until its HELLO is admitted; pending connections never count against capacity.
 * - One address holds at most `capacity + perAddress` connections: the next one is refused.
 * - In total at most `maxConnections`: a new connection over it evicts the oldest pending one
 *   (the one that has had longest to say HELLO), or is refused when none is pending.
 * Every refusal is ERR_TOO_MANY_CONNECTIONS in an ERROR frame (the connection's own abort()).
 */
export class ConnectionGate<C extends Gated> {
  private readonly byAddress = new Map<string, number>();
  private readonly address = new Map<C, string>();
  /** Pending connections, oldest first (a Set keeps insertion order). */
  private readonly pending = new Set<C>();

  constructor(private readonly limits: ConnectionGateLimits) {}

  get size(): number {
    return this.address.size;
  }
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * A new connection from `remote`: held (true), or refused (false; it has been aborted with
   * ERR_TOO_MANY_CONNECTIONS and is not tracked).
   */
  enter(conn: C, remote: string | undefined): boolean {
    const addr = normalizeAddress(remote);
    const perAddress = this.limits.capacity() + this.limits.perAddress;
    if ((this.byAddress.get(addr) ?? 0) >= perAddress) {
      conn.abort(refusal(`at most ${perAddress} connections from one address`));
      return false;
    }
    if (this.address.size >= this.limits.maxConnections) {
      const oldest = this.pending.values().next();
      if (oldest.done) {
        conn.abort(refusal(`at its limit of ${this.limits.maxConnections} connections`));
        return false;
      }
      this.leave(oldest.value);
      oldest.value.abort(refusal('evicted: no HELLO while the server was at its connection limit'));
    }
    this.address.set(conn, addr);
    this.byAddress.set(addr, (this.byAddress.get(addr) ?? 0) + 1);
    this.pending.add(conn);
    return true;
  }

  /** The connection's ticket was verified: it no longer counts as pending. */
  admitted(conn: C): void {
    this.pending.delete(conn);
  }

  /** The connection closed (or was evicted). Idempotent. */
  leave(conn: C): void {
    const addr = this.address.get(conn);
    if (addr === undefined) return;
    this.address.delete(conn);
    this.pending.delete(conn);
    const n = (this.byAddress.get(addr) ?? 1) - 1;
    if (n <= 0) this.byAddress.delete(addr);
    else this.byAddress.set(addr, n);
  }
}

function refusal(why: string): CascadeError {
  return new CascadeError('ERR_TOO_MANY_CONNECTIONS', `connection refused: ${why}`);
}

/** One key per host: an IPv4-mapped IPv6 address counts as its IPv4 address. */
export function normalizeAddress(remote: string | undefined): string {
  if (!remote) return '?';
  return remote.startsWith('::ffff:') ? remote.slice(7) : remote;
}
