/**
 * net/ owns the coordinator's sockets: one `ControlConnection` per ws link (framing, decoding,
 * rate and size limits, the hello timeout), the set of open connections with its admission limits
 * (this file), the hello gate (token challenge, protocol), HTTP /status, /metrics and /healthz, and
 * the UDP discovery responder.
 */
import type { Logger } from '@cascade/common';
import type { Socket } from 'node:net';
import { AddressBudget } from './address-budget.js';
import { AddressCounter } from './address-counter.js';
import type { ControlConnection } from './control-connection.js';
import { heldBytes } from './receiver-limits.js';

export interface ConnectionSetLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  maxBufferedBytesPerAddress: number;
  maxMessageBytes: number;
}

/** Every open control connection, hello or not: admission limits and the ping sweep. */
export class ConnectionSet {
  private readonly open = new Set<ControlConnection>();
  private readonly perAddress = new AddressCounter();
  private readonly buffered: AddressBudget;

  constructor(
    private readonly limits: ConnectionSetLimits,
    private readonly log: Logger,
  ) {
    this.buffered = new AddressBudget(Math.max(limits.maxBufferedBytesPerAddress, limits.maxMessageBytes));
  }

  /** Why `conn` may not be held (total or per-address limit), or null when it may. */
  refusal(conn: ControlConnection): string | null {
    const { maxConnections, maxConnectionsPerAddress } = this.limits;
    if (this.open.size >= maxConnections) return `coordinator holds its maximum of ${maxConnections} connections`;
    if (this.perAddress.get(conn.address) >= maxConnectionsPerAddress)
      return `${conn.address} holds its maximum of ${maxConnectionsPerAddress} connections`;
    return null;
  }

  /**
   * Hold `conn`, whose bytes arrive on `socket`: after ws's parser took each chunk, what the
   * connection holds in unfinished messages is counted against its address's budget, and the
   * connection that goes over it is dropped.
   */
  add(conn: ControlConnection, socket: Socket): void {
    this.open.add(conn);
    this.perAddress.add(conn.address);
    socket.on('data', () => {
      if (!this.open.has(conn) || this.buffered.update(conn, conn.address, heldBytes(conn.ws))) return;
      const budget = this.limits.maxBufferedBytesPerAddress;
      this.log.warn({ remote: conn.remote, budget }, 'address over its unfinished-message budget; dropping connection');
      conn.ws.terminate();
    });
  }

  delete(conn: ControlConnection): void {
    this.buffered.forget(conn);
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
