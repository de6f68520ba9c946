import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

/**
 * The MAC of the interface that holds `address` (the local end of the control link), so the
 * coordinator can tell apart machines that share a hostname; null for loopback, an all-zero
 * MAC or an address no interface holds.
 */
export function macFor(
  address: string,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): string | null {
  const ip = address.replace(/^::ffff:/, '');
  for (const list of Object.values(interfaces)) {
    const hit = list?.find((i) => i.address === ip);
    if (hit && !hit.internal && !/^(00:){5}00$/.test(hit.mac)) return hit.mac.toLowerCase();
  }
  return null;
}
