import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '@cascade/common';
import { AddressCounter } from './address-counter.js';

/** How long a request may take to send its headers, and its whole body. */
export const HTTP_HEADERS_TIMEOUT_MS = 10_000;
export const HTTP_REQUEST_TIMEOUT_MS = 30_000;
/** How often Node checks those two (its default, 30 s, let a partial request live 60–80 s). */
export const HTTP_CHECK_INTERVAL_MS = 1000;
/** A socket of an address at its cap lives this long: enough for a ws upgrade to be told why. */
const REFUSAL_GRACE_MS = 2000;
/** Sockets beyond the cap that are told why (above, they are closed at once). */
const REFUSAL_SLOTS = 8;

/**
 * Every TCP connection to the coordinator's port — HTTP requests, and ws links before and after
 * their upgrade — counts toward --max-connections-per-address. A few sockets past the cap live
 * for REFUSAL_GRACE_MS (a ws upgrade among them gets ERR_TOO_MANY_CONNECTIONS from
 * ConnectionSet); any more are closed as they arrive. Idle HTTP sockets time out (ws clears the
 * timeout of a socket it upgrades).
 */
export function guardHttpSockets(server: Server, maxPerAddress: number, log: Logger): void {
  server.headersTimeout = HTTP_HEADERS_TIMEOUT_MS;
  server.requestTimeout = HTTP_REQUEST_TIMEOUT_MS;
  server.setTimeout(HTTP_REQUEST_TIMEOUT_MS, (socket: Socket) => socket.destroy());
  const open = new AddressCounter();
  let warned = 0;
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '?';
    const n = open.get(address);
    if (n >= maxPerAddress + REFUSAL_SLOTS) {
      if (Date.now() - warned > 10_000) {
        warned = Date.now();
        log.warn({ remote: address, max: maxPerAddress }, 'address over its connection limit; closing its sockets');
      }
      socket.destroy();
      return;
    }
    open.add(address);
    socket.once('close', () => open.remove(address));
    if (n >= maxPerAddress) setTimeout(() => socket.destroy(), REFUSAL_GRACE_MS).unref();
  });
}
