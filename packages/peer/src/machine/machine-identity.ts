/**
 * machine/ — the lab machine around the peer: its identity for the coordinator (this file),
 * finding a coordinator by broadcast (discovery.ts), and the hooks run at the end
 * (on-complete.ts, finish-hooks.ts).
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { join } from 'node:path';
import type { MachineInfo } from '@cascade/common';

/** Placeholder DMI strings firmware vendors leave in place of a real value. */
const PLACEHOLDER = /^(to be filled by o\.?e\.?m\.?|default string|system (product name|serial number)|none|n\/a|0+)$/i;

function clean(text: string): string | undefined {
  const printable = [...text].map((c) => (c < ' ' || c === '\u007f' ? ' ' : c)).join('');
  const v = printable.trim().slice(0, 128);
  return v && !PLACEHOLDER.test(v) ? v : undefined;
}

function readTrimmed(file: string): string | undefined {
  try {
    return clean(readFileSync(file, 'latin1'));
  } catch {
    return undefined; // absent, or root-only (product_serial) when not root
  }
}

/** MAC addresses of the physical NICs (those with a `device` link), in name order. */
function physicalMacs(sys: string): string[] {
  const net = join(sys, 'class/net');
  let names: string[];
  try {
    names = readdirSync(net).sort();
  } catch {
    return [];
  }
  const macs: string[] = [];
  for (const n of names) {
    if (!existsSync(join(net, n, 'device'))) continue;
    const mac = readTrimmed(join(net, n, 'address'));
    if (mac && mac !== '00:00:00:00:00:00' && !macs.includes(mac)) macs.push(mac);
  }
  return macs.slice(0, 32);
}

/**
 * Who this machine is, for the coordinator: MACs of its NICs, its IPv4 addresses and the DMI
 * vendor, product and serial (/sys/class/dmi/id). Never throws; what cannot be read is left out.
 */
export function machineIdentity(
  sys = '/sys',
  ifaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): MachineInfo {
  const ips = Object.values(ifaces)
    .flatMap((list) => list ?? [])
    .filter((i) => i.family === 'IPv4' && !i.internal)
    .map((i) => i.address)
    .slice(0, 32);
  const dmi = (f: string): string | undefined => readTrimmed(join(sys, 'class/dmi/id', f));
  const vendor = dmi('sys_vendor');
  const product = dmi('product_name');
  const serial = dmi('product_serial');
  return {
    macs: physicalMacs(sys),
    ips,
    ...(vendor ? { vendor } : {}),
    ...(product ? { product } : {}),
    ...(serial ? { serial } : {}),
  };
}

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

/**
 * What the peer's hello says about its machine: machineIdentity() (DMI strings), with `ips` and
 * `macs` given as pairs — each IPv4 address with the MAC of the interface that holds it — so the
 * coordinator can show the MAC of the address it sees the peer at (virtual NICs, e.g. a veth,
 * included). Without any such address: machineIdentity()'s own lists.
 */
export function helloIdentity(
  sys = '/sys',
  ifaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): MachineInfo {
  const id = machineIdentity(sys, ifaces);
  const pairs = Object.values(ifaces)
    .flatMap((list) => list ?? [])
    .filter((i) => i.family === 'IPv4' && !i.internal)
    .slice(0, 32);
  if (pairs.length === 0) return id;
  return { ...id, ips: pairs.map((i) => i.address), macs: pairs.map((i) => i.mac.toLowerCase()) };
}
