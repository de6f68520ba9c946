/**
 * The used-block map of a disk image or block device: partition table, then each partition's
 * filesystem allocation map. What must be sent = everything outside partitions (tables, boot
 * loaders, gaps) + each mapped partition's used ranges + every partition that could not be mapped,
 * whole. Pure parsing over a read function: no sockets, no writes.
 *
 * @example
 * ```ts
 * const fh = await open('lab.img');
 * const read = async (o: number, n: number) => (await fh.read(Buffer.alloc(n), 0, n, o)).buffer;
 * const layout = await readDiskLayout(read, (await fh.stat()).size);
 * layout.warnings.forEach((w) => log.warn(w));
 * usedWithin(layout.used, 0, 4 << 20); // used ranges of the first 4 MiB slice
 * ```
 */
import { CascadeError } from '../errors.js';
import { mapExt, looksLikeExt } from './ext.js';
import { mapFat, looksLikeFat } from './fat.js';
import { looksLikeNtfs, mapNtfs } from './ntfs.js';
import { readPartitionTable, type PartitionEntry } from './partition-table.js';
import { complementRanges, mergeRanges, rangesBytes, shiftClip, type ByteRange } from './ranges.js';
import { within, type FsKind, type FsMap, type ReadAt } from './read-source.js';
import { mapSwap } from './swap.js';

export interface DiskPartition extends PartitionEntry {
  fs: FsKind;
  /** e.g. `ext4`, `FAT32`, `NTFS, 4096-byte clusters`, `swap v1, 4096-byte pages`; absent if unknown. */
  detail?: string;
  /** Bytes of this partition that must be sent. */
  usedBytes: number;
  /** True when the used bytes come from an allocation map (false: sent whole). */
  mapped: boolean;
  /** Why the partition is sent whole, when it is for a reason other than being swap. */
  warning?: string;
}

export interface DiskLayout {
  table: 'mbr' | 'gpt' | 'none';
  size: number;
  partitions: DiskPartition[];
  /** Absolute, sorted, merged: every byte that must be sent. */
  used: ByteRange[];
  usedBytes: number;
  warnings: string[];
}

export interface DiskLayoutOptions {
  /**
   * Linux swap: `whole` (default, as issue 26 asks: swap is sent whole) or `header` (only its
   * header page; the rest is dead after a reboot and reads as stale bytes).
   */
  swap?: 'whole' | 'header';
}

/** A partition and its used ranges (absolute). */
interface Mapped {
  part: DiskPartition;
  used: ByteRange[];
}

type Mapper = (read: ReadAt, length: number) => Promise<FsMap | null>;

async function mapFilesystem(read: ReadAt, length: number, options: DiskLayoutOptions): Promise<FsMap | null> {
  const head = await read(0, Math.min(length, 4096));
  const mappers: Mapper[] = [];
  if (looksLikeNtfs(head)) mappers.push(mapNtfs);
  else if (looksLikeFat(head)) mappers.push(mapFat);
  if (looksLikeExt(head)) mappers.push(mapExt);
  mappers.push((r, n) => mapSwap(r, n, options.swap ?? 'whole'));
  for (const m of mappers) {
    const found = await m(read, length);
    if (found !== null) return found;
  }
  return null;
}

function label(p: PartitionEntry, table: DiskLayout['table']): string {
  if (table === 'none') return 'the disk (no partition table)';
  return `partition ${p.index} (${p.typeName} ${p.type}, bytes ${p.start}–${p.start + p.length})`;
}

async function mapPartition(
  read: ReadAt,
  p: PartitionEntry,
  table: DiskLayout['table'],
  options: DiskLayoutOptions,
): Promise<Mapped> {
  const whole = (fs: FsKind, warning?: string, detail?: string): Mapped => ({
    part: {
      ...p,
      fs,
      ...(detail === undefined ? {} : { detail }),
      usedBytes: p.length,
      mapped: false,
      ...(warning === undefined ? {} : { warning }),
    },
    used: [[p.start, p.start + p.length]],
  });
  let found: FsMap | null;
  try {
    found = await mapFilesystem(within(read, p.start, p.length), p.length, options);
  } catch (err) {
    if (!(err instanceof CascadeError)) throw err;
    const fs = guessKind(err.message);
    return whole(fs, `${label(p, table)}: ${err.message}; sent whole`);
  }
  if (found === null) return whole('unknown', `${label(p, table)}: no filesystem recognised; sent whole`);
  if (found.fs === 'swap' && found.used.length === 1 && found.used[0]![1] === p.length) {
    return whole('swap', undefined, found.detail);
  }
  const used = shiftClip(found.used, p.start, p.start, p.start + p.length);
  return { part: { ...p, fs: found.fs, detail: found.detail, usedBytes: rangesBytes(used), mapped: true }, used };
}

function guessKind(message: string): FsKind {
  if (message.startsWith('ext')) return 'ext';
  if (message.startsWith('NTFS')) return 'ntfs';
  if (message.startsWith('FAT')) return 'fat';
  return 'unknown';
}

/** Clip partitions to the disk and warn about ones past its end or overlapping another. */
function checkBounds(parts: PartitionEntry[], size: number, warnings: string[]): PartitionEntry[] {
  const out: PartitionEntry[] = [];
  let prevEnd = 0;
  for (const p of [...parts].sort((a, b) => a.start - b.start)) {
    if (p.start >= size || p.length <= 0) {
      warnings.push(`partition ${p.index} starts past the end of the disk or is empty; ignored`);
      continue;
    }
    if (p.start + p.length > size) {
      warnings.push(`partition ${p.index} ends past the end of the disk; clipped to it`);
    }
    if (p.start < prevEnd) warnings.push(`partition ${p.index} overlaps the partition before it`);
    prevEnd = Math.max(prevEnd, p.start + p.length);
    out.push({ ...p, length: Math.min(p.length, size - p.start) });
  }
  return out;
}

/**
 * Read the layout and used-block map of a disk of `size` bytes through `read` (which may return
 * fewer bytes only at the end of the disk). Never throws for a damaged table or filesystem: what
 * cannot be mapped is sent whole and named in `warnings`. Errors of `read` itself are thrown.
 */
export async function readDiskLayout(read: ReadAt, size: number, options: DiskLayoutOptions = {}): Promise<DiskLayout> {
  const disk = within(read, 0, size);
  const bare = await mapPartition(
    disk,
    { index: 1, start: 0, length: size, type: 'none', typeName: 'no partition table' },
    'none',
    options,
  );
  // A filesystem that maps cleanly from byte 0 wins; otherwise a partition table does (a stray
  // superblock magic in a boot-loader gap must not turn a partitioned disk into one broken volume).
  const table = bare.part.mapped ? null : await readPartitionTable(disk, size);
  if (table === null || table.table === 'none') {
    return assemble('none', size, [bare], table?.warnings ?? []);
  }
  const warnings = [...table.warnings];
  const parts = checkBounds(table.partitions, size, warnings);
  const mapped: Mapped[] = [];
  for (const p of parts) mapped.push(await mapPartition(disk, p, table.table, options));
  mapped.sort((a, b) => a.part.index - b.part.index);
  return assemble(table.table, size, mapped, warnings);
}

function assemble(table: DiskLayout['table'], size: number, parts: Mapped[], warnings: string[]): DiskLayout {
  const partitions = parts.map((m) => m.part);
  const areas = mergeRanges(partitions.map((p): ByteRange => [p.start, p.start + p.length]));
  const used: ByteRange[] = [...complementRanges(areas, 0, size), ...parts.flatMap((m) => m.used)];
  const all = mergeRanges(used);
  const partWarnings = partitions.flatMap((p) => (p.warning === undefined ? [] : [p.warning]));
  return { table, size, partitions, used: all, usedBytes: rangesBytes(all), warnings: [...warnings, ...partWarnings] };
}
