import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

/** A local IPv4 network this host sits on. */
export interface Ipv4Subnet {
  iface: string;
  address: string;
  netmask: string;
  /** The subnet's directed broadcast address (e.g. 10.1.2.255 for 10.1.2.7/24). */
  broadcast: string;
}

function toInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return NaN;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function toIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** `address | ~netmask`: the directed broadcast address of the subnet. */
export function broadcastAddress(address: string, netmask: string): string {
  return toIp((toInt(address) | ~toInt(netmask)) >>> 0);
}

/** True when `ip` lies in `subnet`. */
export function inSubnet(subnet: Ipv4Subnet, ip: string): boolean {
  const mask = toInt(subnet.netmask);
  const n = toInt(ip.replace(/^::ffff:/, ''));
  return Number.isFinite(n) && (n & mask) >>> 0 === (toInt(subnet.address) & mask) >>> 0;
}

/** This host's external IPv4 subnets (loopback left out), in interface order. */
export function ipv4Subnets(ifaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): Ipv4Subnet[] {
  const out: Ipv4Subnet[] = [];
  for (const [iface, infos] of Object.entries(ifaces)) {
    for (const i of infos ?? []) {
      if (i.family !== 'IPv4' || i.internal) continue;
      out.push({ iface, address: i.address, netmask: i.netmask, broadcast: broadcastAddress(i.address, i.netmask) });
    }
  }
  return out;
}

/** The subnet that holds `ip`, if any. */
export function subnetContaining(subnets: readonly Ipv4Subnet[], ip: string): Ipv4Subnet | undefined {
  return subnets.find((s) => inSubnet(s, ip));
}
