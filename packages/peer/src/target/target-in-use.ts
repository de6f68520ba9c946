import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CascadeError } from '@cascade/common';

/** Where the system tables live (tests point these at a fake tree). */
export interface SystemPaths {
  sys: string;
  proc: string;
  /** The running system's root, whose device must never be overwritten. */
  root: string;
}

const SYSTEM: SystemPaths = { sys: '/sys', proc: '/proc', root: '/' };

interface BlockDev {
  name: string;
  /** "major:minor" */
  dev: string;
  dir: string;
}

const readText = (p: string): Promise<string> => readFile(p, 'utf8').catch(() => '');

/** The device and its partitions (sysfs subdirectories holding a `partition` file). */
async function deviceAndPartitions(name: string, paths: SystemPaths): Promise<BlockDev[]> {
  const dir = join(paths.sys, 'class/block', name);
  const out: BlockDev[] = [{ name, dev: (await readText(join(dir, 'dev'))).trim(), dir }];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (!e.isDirectory() || !e.name.startsWith(name)) continue;
    const sub = join(dir, e.name);
    if (await stat(join(sub, 'partition')).catch(() => null))
      out.push({ name: e.name, dev: (await readText(join(sub, 'dev'))).trim(), dir: sub });
  }
  return out;
}

/** "major:minor" of a stat `dev` number (Linux's encoding). */
export function devNumber(dev: number): string {
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 4096) & 0xfff00);
  return `${major}:${minor}`;
}

/** Mount points whose device is one of `devs` (by major:minor, or by /dev/NAME source). */
async function mountsOf(devs: BlockDev[], paths: SystemPaths): Promise<string | null> {
  const numbers = new Set(devs.map((d) => d.dev).filter(Boolean));
  const names = new Set(devs.map((d) => d.name));
  for (const line of (await readText(join(paths.proc, 'self/mountinfo'))).split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    const source = sep > 0 ? (f[sep + 2] ?? '') : '';
    if ((f[2] && numbers.has(f[2])) || (source.startsWith('/dev/') && names.has(basename(source))))
      return `${source || f[2]} is mounted on ${f[4]}`;
  }
  for (const line of (await readText(join(paths.proc, 'swaps'))).split('\n').slice(1)) {
    const dev = line.split(/\s+/)[0] ?? '';
    if (dev.startsWith('/dev/') && names.has(basename(dev))) return `${dev} is in use as swap`;
  }
  return null;
}

async function heldBy(devs: BlockDev[]): Promise<string | null> {
  for (const d of devs) {
    const holders = await readdir(join(d.dir, 'holders')).catch(() => []);
    if (holders.length > 0) return `${d.name} is held by ${holders.join(', ')} (device-mapper, LVM or RAID)`;
  }
  return null;
}

/**
 * Why writing to `path` would damage a running system — a block device (or one of its
 * partitions) that is mounted, used as swap, held by device-mapper/LVM/RAID, or the device
 * behind `/` — or null when it is free. Regular files are always free.
 */
export async function targetInUse(path: string, paths: SystemPaths = SYSTEM): Promise<string | null> {
  const st = await stat(path).catch(() => null);
  if (!st?.isBlockDevice()) return null;
  return blockDeviceInUse(basename(await realpath(path)), paths);
}

/** targetInUse for the block device called `name` in sysfs (`sda`, `loop3`, `nvme0n1`). */
export async function blockDeviceInUse(name: string, paths: SystemPaths = SYSTEM): Promise<string | null> {
  const devs = await deviceAndPartitions(name, paths);
  const rootDev = devNumber((await stat(paths.root)).dev);
  const root = devs.find((d) => d.dev === rootDev);
  if (root) return `${root.name} holds the running system (/)`;
  return (await mountsOf(devs, paths)) ?? (await heldBy(devs));
}

/** Refuse (ERR_TARGET_IN_USE, exit 3) a target that is in use, unless forced. */
export async function assertTargetFree(path: string, force = false, paths: SystemPaths = SYSTEM): Promise<void> {
  if (force) return;
  const why = await targetInUse(path, paths);
  if (why)
    throw new CascadeError(
      'ERR_TARGET_IN_USE',
      `target ${path}: ${why}; refusing to overwrite it (--force to override)`,
    );
}
