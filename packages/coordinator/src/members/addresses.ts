import { isIP } from 'node:net';

/** An address as the socket reports it, without the IPv4-mapped IPv6 prefix (`::ffff:10.0.0.5` → `10.0.0.5`). */
export function plainIp(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** 127.0.0.0/8, ::1 or `localhost`: an address that means "this host" to whoever dials it. */
export function isLoopback(host: string): boolean {
  const h = plainIp(host.replace(/^\[|\]$/g, '')).toLowerCase();
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}

/** 0.0.0.0 or :: (a listen address, never one a client can dial on another host). */
export function isUnspecified(host: string): boolean {
  const h = plainIp(host.replace(/^\[|\]$/g, ''));
  return h === '0.0.0.0' || h === '::' || h === '';
}

/**
 * The host a client should dial to reach a server that advertised `advertised`. A routable
 * address is kept as given (`--advertise` is the operator's word). A loopback or unspecified one
 * is only right for a client on the server's own host; any other client is given the address
 * the coordinator saw the server connect from, or — when the server runs on the coordinator's
 * own host (it connected over loopback) — the coordinator's own address on the client's
 * connection, which is an address of that host the client already reaches.
 */
export function reachableHost(
  advertised: string,
  server: { ip: string | null },
  client: { ip: string | null; localAddress: string | null },
): string {
  const loopback = isLoopback(advertised);
  if (!loopback && !isUnspecified(advertised)) return advertised;
  const serverIp = server.ip ? plainIp(server.ip) : null;
  const clientIp = client.ip ? plainIp(client.ip) : null;
  const serverRemote = serverIp !== null && !isLoopback(serverIp) && !isUnspecified(serverIp);
  const clientLocal = clientIp === null || isLoopback(clientIp);
  // The server is on another host than the coordinator: dial the address it came from.
  if (serverRemote) return serverIp;
  // Both on the coordinator's host (or unknown): a loopback address works as it is.
  if (clientLocal) return loopback ? advertised : (serverIp ?? advertised);
  // The server is on the coordinator's host: reach it where the client reached the coordinator.
  const local = client.localAddress ? plainIp(client.localAddress) : null;
  if (local && !isUnspecified(local) && !isLoopback(local)) return local;
  return advertised;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/**
 * The MAC to show for a machine seen at `ip`: the one paired with `ip` when its hello lists its
 * addresses in the order of its MACs (one each), otherwise its first MAC; null when it sent none
 * (or nothing that reads as a MAC).
 */
export function macFor(machine: { macs: string[]; ips: string[] } | undefined, ip: string | null): string | null {
  if (!machine || machine.macs.length === 0) return null;
  const paired = ip !== null && machine.ips.length === machine.macs.length ? machine.ips.indexOf(ip) : -1;
  const mac = (machine.macs[paired >= 0 ? paired : 0] ?? '').toLowerCase().replaceAll('-', ':');
  return MAC.test(mac) ? mac : null;
}
