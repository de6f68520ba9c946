/**
 * net/ owns the coordinator's sockets: one `ControlConnection` per ws link (framing, decoding,
 * rate and size limits, the hello timeout), the set of open connections with its admission limits
 * (this file), the hello gate (token challenge, protocol), HTTP /status, /metrics and /healthz, and
 * the UDP discovery responder.
 */
import type { Logger } from '@cascade/common';
import { AddressCounter } from './address-counter.js';
import type { ControlConnection } from './control-connection.js';

/** Every open control connection, hello or not: admission limits and the ping sweep. */
export class ConnectionSet {
  private readonly open = new Set<ControlConnection>();
  private readonly perAddress = new AddressCounter();

  constructor(
    private readonly limits: { maxConnections: number; maxConnectionsPerAddress: number },
    private readonly log: Logger,
  ) {}

  /** Why `conn` may not be held (total or per-address limit), or null when it may. */
  refusal(conn: ControlConnection): string | null {
    const { maxConnections, maxConnectionsPerAddress } = this.limits;
    if (this.open.size >= maxConnections) return `coordinator holds its maximum of ${maxConnections} connections`;
    if (this.perAddress.get(conn.address) >= maxConnectionsPerAddress)
      return `${conn.address} holds its maximum of ${maxConnectionsPerAddress} connections`;
    return null;
  }

  add(conn: ControlConnection): void {
    this.open.add(conn);
    this.perAddress.add(conn.address);
  }

  delete(conn: ControlConnection): void {
    if (this.open.delete(conn)) this.perAddress.remove(conn.address);
  }

  /** Drop every connection that missed the last ping's pong, ping the rest. */
  pingAll(): void {
    for (const conn of this.open) {
      if (!conn.alive) {
        this.log.warn({ peer: conn.member?.name, remote: conn.remote }, 'no pong; dropping connection');
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }
}
