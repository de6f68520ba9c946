/**
 * ext2/3/4 allocation map: superblock → group descriptors (32- or 64-byte, meta_bg) → block
 * bitmaps. Used = every block set in a bitmap, plus what libext2fs (and so partclone.extfs) adds for
 * groups whose bitmap was never written (BLOCK_UNINIT): the superblock and descriptor backups, and
 * every group's bitmaps and inode table wherever flex_bg put them. Block 0 is always used (it holds
 * the boot block, and on 1 KiB-block filesystems it lies outside every bitmap), and so is the
 * partition's tail past the filesystem's last block.
 */
import { bitmapRanges, mergeRanges, type ByteRange } from './ranges.js';
import { mapError, type FsMap, type ReadAt } from './read-source.js';

const EXT_MAGIC = 0xef53;
const INCOMPAT_RECOVER = 0x4;
const INCOMPAT_META_BG = 0x10;
const INCOMPAT_64BIT = 0x80;
const INCOMPAT_FLEX_BG = 0x200;
const INCOMPAT_EXTENTS = 0x40;
const COMPAT_HAS_JOURNAL = 0x4;
const COMPAT_SPARSE_SUPER2 = 0x200;
const RO_SPARSE_SUPER = 0x1;
const RO_GDT_CSUM = 0x10;
const RO_METADATA_CSUM = 0x400;
const BG_BLOCK_UNINIT = 0x2;

interface ExtSuper {
  blockSize: number;
  blocksCount: number;
  firstDataBlock: number;
  blocksPerGroup: number;
  inodeTableBlocks: number;
  groups: number;
  descSize: number;
  descPerBlock: number;
  gdtBlocks: number;
  reservedGdt: number;
  incompat: number;
  compat: number;
  roCompat: number;
  firstMetaBg: number;
  backupBgs: [number, number];
}

interface GroupDesc {
  blockBitmap: number;
  inodeBitmap: number;
  inodeTable: number;
  flags: number;
}

/** True when the 2 KiB at the start of a partition hold an ext superblock magic. */
export function looksLikeExt(head: Buffer): boolean {
  return head.length >= 2048 && head.readUInt16LE(1024 + 0x38) === EXT_MAGIC;
}

function parseSuper(sb: Buffer, partLength: number): ExtSuper {
  const log = sb.readUInt32LE(0x18);
  if (log > 6) throw mapError(`ext superblock: block size 1024 << ${log} is not valid`);
  const blockSize = 1024 << log;
  const incompat = sb.readUInt32LE(0x60);
  const is64 = (incompat & INCOMPAT_64BIT) !== 0;
  const blocksCount = sb.readUInt32LE(0x4) + (is64 ? sb.readUInt32LE(0x150) * 2 ** 32 : 0);
  const firstDataBlock = sb.readUInt32LE(0x14);
  const blocksPerGroup = sb.readUInt32LE(0x20);
  const inodesPerGroup = sb.readUInt32LE(0x28);
  const inodeSize = sb.readUInt32LE(0x4c) === 0 ? 128 : sb.readUInt16LE(0x58);
  const descSize = is64 ? sb.readUInt16LE(0xfe) : 32;
  const bad = (why: string): never => {
    throw mapError(`ext superblock is inconsistent: ${why}`);
  };
  if (blocksCount === 0 || blocksCount * blockSize > partLength) {
    bad(`${blocksCount} blocks of ${blockSize} bytes do not fit the ${partLength}-byte partition`);
  }
  if (firstDataBlock !== (blockSize === 1024 ? 1 : 0)) bad(`first data block ${firstDataBlock}`);
  if (blocksPerGroup === 0 || blocksPerGroup > blockSize * 8) bad(`${blocksPerGroup} blocks per group`);
  if (inodesPerGroup === 0 || inodeSize < 128 || inodeSize > blockSize) bad(`inode geometry ${inodeSize}`);
  if (descSize < 32 || descSize > blockSize || (descSize & (descSize - 1)) !== 0 || (is64 && descSize < 64)) {
    bad(`descriptor size ${descSize}`);
  }
  const groups = Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup);
  const descPerBlock = blockSize / descSize;
  return {
    blockSize,
    blocksCount,
    firstDataBlock,
    blocksPerGroup,
    inodeTableBlocks: Math.ceil((inodesPerGroup * inodeSize) / blockSize),
    groups,
    descSize,
    descPerBlock,
    gdtBlocks: Math.ceil(groups / descPerBlock),
    reservedGdt: sb.readUInt16LE(0xce),
    incompat,
    compat: sb.readUInt32LE(0x5c),
    roCompat: sb.readUInt32LE(0x64),
    firstMetaBg: sb.readUInt32LE(0x104),
    backupBgs: [sb.readUInt32LE(0x24c), sb.readUInt32LE(0x250)],
  };
}

function isPowerOf(n: number, base: number): boolean {
  let x = base;
  while (x < n) x *= base;
  return x === n;
}

function hasSuper(s: ExtSuper, g: number): boolean {
  if (g === 0) return true;
  if (s.compat & COMPAT_SPARSE_SUPER2) return g === s.backupBgs[0] || g === s.backupBgs[1];
  if (!(s.roCompat & RO_SPARSE_SUPER)) return true;
  return g === 1 || isPowerOf(g, 3) || isPowerOf(g, 5) || isPowerOf(g, 7);
}

const groupStart = (s: ExtSuper, g: number): number => s.firstDataBlock + g * s.blocksPerGroup;
const isMetaBg = (s: ExtSuper, g: number): boolean =>
  (s.incompat & INCOMPAT_META_BG) !== 0 && Math.floor(g / s.descPerBlock) >= s.firstMetaBg;

/** The block holding the descriptor of group `g` (primary copy). */
function descBlock(s: ExtSuper, g: number): number {
  const index = Math.floor(g / s.descPerBlock);
  if (!isMetaBg(s, g)) return s.firstDataBlock + 1 + index;
  const first = index * s.descPerBlock;
  return groupStart(s, first) + (hasSuper(s, first) ? 1 : 0);
}

async function readDescriptors(read: ReadAt, s: ExtSuper): Promise<GroupDesc[]> {
  const out: GroupDesc[] = [];
  const cache = new Map<number, Buffer>();
  for (let g = 0; g < s.groups; g++) {
    const blk = descBlock(s, g);
    let buf = cache.get(blk);
    if (buf === undefined) {
      buf = await read(blk * s.blockSize, s.blockSize);
      cache.set(blk, buf);
    }
    const d = (g % s.descPerBlock) * s.descSize;
    const hi = (at: number): number => (s.descSize >= 64 ? buf.readUInt32LE(d + at) * 2 ** 32 : 0);
    out.push({
      blockBitmap: buf.readUInt32LE(d) + hi(0x20),
      inodeBitmap: buf.readUInt32LE(d + 4) + hi(0x24),
      inodeTable: buf.readUInt32LE(d + 8) + hi(0x28),
      flags: buf.readUInt16LE(d + 0x12),
    });
  }
  return out;
}

/** Blocks every group's own metadata occupies, wherever flex_bg placed it: [block, count]. */
function metadataBlocks(s: ExtSuper, descs: readonly GroupDesc[]): [number, number][] {
  const out: [number, number][] = [];
  descs.forEach((d, g) => {
    for (const [b, n] of [
      [d.blockBitmap, 1],
      [d.inodeBitmap, 1],
      [d.inodeTable, s.inodeTableBlocks],
    ] as const) {
      if (b < s.firstDataBlock || b + n > s.blocksCount) {
        throw mapError(`ext group ${g}: metadata at block ${b} (+${n}) lies outside the filesystem`);
      }
      out.push([b, n]);
    }
  });
  return out;
}

/** Superblock and descriptor blocks (with reserved GDT blocks) of group `g`: [block, count]. */
function superAndDescBlocks(s: ExtSuper, g: number): [number, number][] {
  const out: [number, number][] = [];
  const start = groupStart(s, g);
  const sup = hasSuper(s, g) ? 1 : 0;
  if (sup) {
    const oldGdt = s.incompat & INCOMPAT_META_BG ? Math.min(s.firstMetaBg, s.gdtBlocks) : s.gdtBlocks;
    out.push([start, 1 + oldGdt + s.reservedGdt]);
  }
  const idx = g % s.descPerBlock;
  if (isMetaBg(s, g) && (idx === 0 || idx === 1 || idx === s.descPerBlock - 1)) out.push([start + sup, 1]);
  return out;
}

/** Read block bitmaps, coalescing consecutive bitmap blocks (flex_bg) into reads of up to 1 MiB. */
async function readBitmaps(read: ReadAt, s: ExtSuper, groups: number[], descs: GroupDesc[]) {
  const bitmaps = new Map<number, Buffer>();
  const order = [...groups].sort((a, b) => descs[a]!.blockBitmap - descs[b]!.blockBitmap);
  const maxRun = Math.max(1, Math.floor((1 << 20) / s.blockSize));
  for (let i = 0; i < order.length;) {
    let j = i + 1;
    const first = descs[order[i]!]!.blockBitmap;
    while (j < order.length && j - i < maxRun && descs[order[j]!]!.blockBitmap === first + (j - i)) j++;
    const buf = await read(first * s.blockSize, (j - i) * s.blockSize);
    for (let k = i; k < j; k++) bitmaps.set(order[k]!, buf.subarray((k - i) * s.blockSize, (k - i + 1) * s.blockSize));
    i = j;
  }
  return bitmaps;
}

function describe(s: ExtSuper): string {
  if (s.incompat & (INCOMPAT_EXTENTS | INCOMPAT_FLEX_BG | INCOMPAT_64BIT)) return 'ext4';
  return s.compat & COMPAT_HAS_JOURNAL ? 'ext3' : 'ext2';
}

/**
 * Map an ext2/3/4 filesystem at the start of `read` (partition-relative, `length` bytes).
 * Returns null when there is no ext superblock; throws ERR_DISK_MAP when the map cannot be trusted
 * (bad geometry, journal needing recovery, errors recorded, a bitmap that frees its own metadata).
 */
export async function mapExt(read: ReadAt, length: number): Promise<FsMap | null> {
  const sb = await read(1024, 1024);
  if (sb.readUInt16LE(0x38) !== EXT_MAGIC) return null;
  const s = parseSuper(sb, length);
  if (s.incompat & INCOMPAT_RECOVER) throw mapError('ext journal needs recovery (not cleanly unmounted)');
  if (sb.readUInt16LE(0x3a) & 0x2) throw mapError('ext filesystem is marked as having errors');
  const descs = await readDescriptors(read, s);
  const csum = (s.roCompat & (RO_GDT_CSUM | RO_METADATA_CSUM)) !== 0;
  const uninit = (g: number): boolean => csum && (descs[g]!.flags & BG_BLOCK_UNINIT) !== 0;
  const extra: [number, number][] = [[0, 1], ...metadataBlocks(s, descs)];
  const written: number[] = [];
  for (let g = 0; g < s.groups; g++) {
    if (uninit(g)) extra.push(...superAndDescBlocks(s, g));
    else written.push(g);
  }
  const bitmaps = await readBitmaps(read, s, written, descs);
  const meta = [
    ...metadataBlocks(s, descs),
    ...written.filter((g) => hasSuper(s, g)).map((g) => [groupStart(s, g), 1] as [number, number]),
  ];
  checkBitmaps(s, bitmaps, meta);
  const used: ByteRange[] = extra.map(([b, n]) => [b * s.blockSize, (b + n) * s.blockSize]);
  for (const g of written) {
    const start = groupStart(s, g);
    const count = Math.min(s.blocksPerGroup, s.blocksCount - start);
    used.push(...bitmapRanges(bitmaps.get(g)!, count, start * s.blockSize, s.blockSize));
  }
  used.push([s.blocksCount * s.blockSize, length]); // partition tail past the filesystem
  return { fs: 'ext', detail: describe(s), used: mergeRanges(used), unit: s.blockSize };
}

/**
 * Consistency: a written bitmap must mark as used every metadata block that lies in its group
 * (superblock copy, descriptors, any group's bitmaps and inode table). A bitmap that frees them is
 * stale or overwritten, and nothing else it says can be trusted.
 */
function checkBitmaps(s: ExtSuper, bitmaps: Map<number, Buffer>, meta: readonly [number, number][]): void {
  for (const [b, n] of meta) {
    for (const blk of [b, b + n - 1]) {
      const g = Math.floor((blk - s.firstDataBlock) / s.blocksPerGroup);
      const bitmap = bitmaps.get(g);
      if (bitmap === undefined || blk < s.firstDataBlock) continue;
      const bit = blk - groupStart(s, g);
      if (((bitmap[bit >> 3] ?? 0) & (1 << (bit & 7))) === 0) {
        throw mapError(`ext group ${g}: block bitmap marks metadata block ${blk} free`);
      }
    }
  }
}
