/**
 * FAT12/16/32 allocation map: the BIOS parameter block gives the reserved sectors, the FATs, the
 * FAT12/16 root directory and the data area; a data cluster is used when its FAT entry is non-zero
 * (bad-cluster marks included). Used = everything before the data area, plus used clusters, plus
 * the sectors past the last cluster (the partition's tail, which no cluster covers).
 */
import { mergeRanges, type ByteRange } from './ranges.js';
import { mapError, type FsMap, type ReadAt } from './read-source.js';

const MAX_FAT_READ = 1 << 20;

interface FatGeometry {
  kind: 'FAT12' | 'FAT16' | 'FAT32';
  sectorSize: number;
  clusterSize: number;
  fatOffset: number;
  fatBytes: number;
  dataOffset: number;
  clusters: number;
  fsBytes: number;
}

/** A plausible FAT boot sector: jump, 0x55AA, power-of-two sector size and cluster size, ≥1 FAT. */
export function looksLikeFat(b: Buffer): boolean {
  if (b.length < 512 || b.readUInt16LE(510) !== 0xaa55) return false;
  if (b[0] !== 0xeb && b[0] !== 0xe9) return false;
  const bps = b.readUInt16LE(0x0b);
  const spc = b.readUInt8(0x0d);
  return (
    [512, 1024, 2048, 4096].includes(bps) &&
    spc > 0 &&
    (spc & (spc - 1)) === 0 &&
    b.readUInt16LE(0x0e) > 0 &&
    b.readUInt8(0x10) > 0 &&
    b.toString('latin1', 3, 11) !== 'NTFS    '
  );
}

function geometry(b: Buffer, partLength: number): FatGeometry {
  const sectorSize = b.readUInt16LE(0x0b);
  const clusterSize = sectorSize * b.readUInt8(0x0d);
  const reserved = b.readUInt16LE(0x0e);
  const fats = b.readUInt8(0x10);
  const rootEntries = b.readUInt16LE(0x11);
  const sectors = b.readUInt16LE(0x13) || b.readUInt32LE(0x20);
  const fatSectors = b.readUInt16LE(0x16) || b.readUInt32LE(0x24);
  const rootSectors = Math.ceil((rootEntries * 32) / sectorSize);
  const dataSector = reserved + fats * fatSectors + rootSectors;
  const bad = (why: string): never => {
    throw mapError(`FAT boot sector is inconsistent: ${why}`);
  };
  if (sectors === 0 || sectors * sectorSize > partLength) {
    bad(`${sectors} sectors of ${sectorSize} bytes do not fit the ${partLength}-byte partition`);
  }
  if (fatSectors === 0 || dataSector >= sectors) bad(`data area at sector ${dataSector} of ${sectors}`);
  const clusters = Math.floor((sectors - dataSector) / b.readUInt8(0x0d));
  const kind = clusters < 4085 ? 'FAT12' : clusters < 65525 ? 'FAT16' : 'FAT32';
  if ((kind === 'FAT32') !== (rootEntries === 0)) bad(`${kind} with ${rootEntries} root entries`);
  const bits = kind === 'FAT12' ? 12 : kind === 'FAT16' ? 16 : 32;
  const fatBytes = fatSectors * sectorSize;
  if (Math.ceil(((clusters + 2) * bits) / 8) > fatBytes) bad(`the FAT is too small for ${clusters} clusters`);
  return {
    kind,
    sectorSize,
    clusterSize,
    fatOffset: reserved * sectorSize,
    fatBytes,
    dataOffset: dataSector * sectorSize,
    clusters,
    fsBytes: sectors * sectorSize,
  };
}

/** FAT entry `n` of the first FAT (already read into `fat`), 0 meaning free. */
function entry(fat: Buffer, kind: FatGeometry['kind'], n: number): number {
  if (kind === 'FAT32') return fat.readUInt32LE(n * 4) & 0x0fffffff;
  if (kind === 'FAT16') return fat.readUInt16LE(n * 2);
  const v = fat.readUInt16LE(Math.floor((n * 3) / 2));
  return n & 1 ? v >> 4 : v & 0xfff;
}

/**
 * Map a FAT filesystem at the start of `read` (partition-relative, `length` bytes). Null when the
 * boot sector is not FAT; ERR_DISK_MAP when its geometry does not hold together.
 */
export async function mapFat(read: ReadAt, length: number): Promise<FsMap | null> {
  const boot = await read(0, 512);
  if (!looksLikeFat(boot)) return null;
  const g = geometry(boot, length);
  const entryBits = g.kind === 'FAT12' ? 12 : g.kind === 'FAT16' ? 16 : 32;
  const fatUsed = Math.min(g.fatBytes, Math.ceil(((g.clusters + 2) * entryBits) / 8) + 1);
  const chunks: Buffer[] = [];
  for (let at = 0; at < fatUsed; at += MAX_FAT_READ) {
    chunks.push(await read(g.fatOffset + at, Math.min(MAX_FAT_READ, fatUsed - at)));
  }
  const fat = Buffer.concat(chunks);
  const media = entry(fat, g.kind, 0) & 0xff;
  if (media !== boot.readUInt8(0x15)) {
    throw mapError(`FAT entry 0 (media 0x${media.toString(16)}) does not match the boot sector`);
  }
  const used: ByteRange[] = [[0, g.dataOffset]];
  let runStart = -1;
  for (let n = 2; n <= g.clusters + 2; n++) {
    const inUse = n < g.clusters + 2 && entry(fat, g.kind, n) !== 0;
    if (inUse && runStart < 0) runStart = n;
    else if (!inUse && runStart >= 0) {
      used.push([g.dataOffset + (runStart - 2) * g.clusterSize, g.dataOffset + (n - 2) * g.clusterSize]);
      runStart = -1;
    }
  }
  used.push([g.dataOffset + g.clusters * g.clusterSize, length]);
  return { fs: 'fat', detail: g.kind, used: mergeRanges(used), unit: g.clusterSize };
}
