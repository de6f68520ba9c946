/**
 * NTFS allocation map: boot sector → $MFT record 0 (its $DATA runs locate every record) → record 6,
 * $Bitmap → its $DATA runs → the cluster bitmap (bit n set = cluster n used). Used = clusters set
 * in the bitmap, plus the partition's tail past the last whole cluster, which holds the backup boot
 * sector (partclone.ntfs leaves that tail out of its map: the one documented difference).
 */
import { bitmapRanges, mergeRanges, type ByteRange } from './ranges.js';
import { mapError, u64, type FsMap, type ReadAt } from './read-source.js';

const ATTR_DATA = 0x80;
const ATTR_END = 0xffffffff;
const BITMAP_RECORD = 6;
const MAX_BITMAP_READ = 1 << 20;

interface NtfsBoot {
  sectorSize: number;
  clusterSize: number;
  clusters: number;
  mftLcn: number;
  recordSize: number;
}

/** A data run: `length` clusters at `lcn` (null for a sparse run). */
interface Run {
  lcn: number | null;
  length: number;
}

/** True when a boot sector carries the NTFS OEM id. */
export function looksLikeNtfs(head: Buffer): boolean {
  return head.length >= 512 && head.toString('latin1', 3, 11) === 'NTFS    ';
}

function parseBoot(b: Buffer, partLength: number): NtfsBoot {
  const sectorSize = b.readUInt16LE(0x0b);
  const spcRaw = b.readUInt8(0x0d);
  const spc = spcRaw > 0x80 ? 2 ** (256 - spcRaw) : spcRaw;
  const clusterSize = sectorSize * spc;
  const sectors = u64(b, 0x28);
  const perRecord = b.readInt8(0x40);
  const recordSize = perRecord < 0 ? 2 ** -perRecord : perRecord * clusterSize;
  const bad = (why: string): never => {
    throw mapError(`NTFS boot sector is inconsistent: ${why}`);
  };
  if (![512, 1024, 2048, 4096].includes(sectorSize)) bad(`sector size ${sectorSize}`);
  if (spc === 0 || (spc & (spc - 1)) !== 0 || clusterSize > 2 << 20) bad(`cluster size ${clusterSize}`);
  if (sectors === 0 || sectors * sectorSize > partLength) {
    bad(`${sectors} sectors of ${sectorSize} bytes do not fit the ${partLength}-byte partition`);
  }
  if (recordSize < 256 || recordSize > 65536 || (recordSize & (recordSize - 1)) !== 0) {
    bad(`MFT record size ${recordSize}`);
  }
  const clusters = Math.floor((sectors * sectorSize) / clusterSize);
  const mftLcn = u64(b, 0x30);
  if (mftLcn >= clusters) bad(`$MFT at cluster ${mftLcn} of ${clusters}`);
  return { sectorSize, clusterSize, clusters, mftLcn, recordSize };
}

/** Check the "FILE" magic and undo the update sequence (the last 2 bytes of every 512-byte block). */
function fixupRecord(rec: Buffer, which: string): Buffer {
  if (rec.toString('latin1', 0, 4) !== 'FILE') throw mapError(`NTFS ${which}: no FILE record magic`);
  const usaOffset = rec.readUInt16LE(4);
  const usaCount = rec.readUInt16LE(6);
  if (usaCount - 1 !== rec.length / 512 || usaOffset + usaCount * 2 > rec.length) {
    throw mapError(`NTFS ${which}: update sequence array does not match the record size`);
  }
  const out = Buffer.from(rec);
  const usn = rec.readUInt16LE(usaOffset);
  for (let i = 1; i < usaCount; i++) {
    const at = i * 512 - 2;
    if (rec.readUInt16LE(at) !== usn) throw mapError(`NTFS ${which}: torn record (update sequence mismatch)`);
    out.writeUInt16LE(rec.readUInt16LE(usaOffset + i * 2), at);
  }
  return out;
}

/** The unnamed non-resident $DATA attribute of a record: its runs and data size. */
function dataAttribute(rec: Buffer, which: string): { runs: Run[]; size: number } {
  let at = rec.readUInt16LE(0x14);
  while (at + 8 <= rec.length) {
    const type = rec.readUInt32LE(at);
    if (type === ATTR_END) break;
    const len = rec.readUInt32LE(at + 4);
    if (len < 16 || at + len > rec.length) throw mapError(`NTFS ${which}: attribute length ${len} is invalid`);
    if (type === ATTR_DATA && rec.readUInt8(at + 9) === 0) {
      if (rec.readUInt8(at + 8) === 0) throw mapError(`NTFS ${which}: $DATA is resident`);
      if (u64(rec, at + 0x10) !== 0) throw mapError(`NTFS ${which}: $DATA continues in an attribute list`);
      const runs = decodeRuns(rec.subarray(at + rec.readUInt16LE(at + 0x20), at + len), which);
      return { runs, size: u64(rec, at + 0x30) };
    }
    at += len;
  }
  throw mapError(`NTFS ${which}: no unnamed $DATA attribute`);
}

/** Decode mapping pairs: header nibbles give the length and offset field sizes; offsets are relative. */
export function decodeRuns(buf: Buffer, which = 'data runs'): Run[] {
  const runs: Run[] = [];
  let at = 0;
  let lcn = 0;
  while (at < buf.length && buf[at] !== 0) {
    const lenSize = buf[at]! & 0xf;
    const offSize = buf[at]! >> 4;
    if (lenSize === 0 || lenSize > 8 || offSize > 8 || at + 1 + lenSize + offSize > buf.length) {
      throw mapError(`NTFS ${which}: malformed run header at byte ${at}`);
    }
    if (buf.subarray(at + 7, at + 1 + lenSize).some((b) => b !== 0)) {
      throw mapError(`NTFS ${which}: run length past 2^48 clusters at byte ${at}`);
    }
    const length = buf.readUIntLE(at + 1, Math.min(lenSize, 6));
    if (offSize === 0) runs.push({ lcn: null, length });
    else {
      lcn += signedLE(buf, at + 1 + lenSize, offSize);
      runs.push({ lcn, length });
    }
    at += 1 + lenSize + offSize;
  }
  return runs;
}

function signedLE(buf: Buffer, at: number, size: number): number {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[at + i]!);
  if (buf[at + size - 1]! & 0x80) v -= 1n << BigInt(size * 8);
  return Number(v);
}

/** Read `length` bytes at byte `offset` of a non-resident stream described by `runs`. */
async function readStream(read: ReadAt, boot: NtfsBoot, runs: Run[], offset: number, length: number) {
  const out = Buffer.alloc(length);
  let vcnByte = 0;
  for (const run of runs) {
    const runBytes = run.length * boot.clusterSize;
    const from = Math.max(offset, vcnByte);
    const to = Math.min(offset + length, vcnByte + runBytes);
    if (to > from && run.lcn !== null) {
      if (run.lcn < 0 || run.lcn + run.length > boot.clusters) {
        throw mapError(`NTFS run at cluster ${run.lcn} (+${run.length}) lies outside the volume`);
      }
      const data = await read(run.lcn * boot.clusterSize + (from - vcnByte), to - from);
      data.copy(out, from - offset);
    }
    vcnByte += runBytes;
  }
  if (vcnByte < offset + length) throw mapError(`NTFS stream shorter than ${offset + length} bytes`);
  return out;
}

/**
 * Map an NTFS volume at the start of `read` (partition-relative, `length` bytes). Null when the
 * boot sector is not NTFS; ERR_DISK_MAP when a record or run cannot be trusted.
 */
export async function mapNtfs(read: ReadAt, length: number): Promise<FsMap | null> {
  const bootSector = await read(0, 512);
  if (!looksLikeNtfs(bootSector)) return null;
  const boot = parseBoot(bootSector, length);
  const mft0 = fixupRecord(await read(boot.mftLcn * boot.clusterSize, boot.recordSize), '$MFT record');
  const mft = dataAttribute(mft0, '$MFT');
  const rec6 = await readStream(read, boot, mft.runs, BITMAP_RECORD * boot.recordSize, boot.recordSize);
  const bitmapAttr = dataAttribute(fixupRecord(rec6, '$Bitmap record'), '$Bitmap');
  const need = Math.ceil(boot.clusters / 8);
  if (bitmapAttr.size < need) {
    throw mapError(`NTFS $Bitmap holds ${bitmapAttr.size} bytes, the volume needs ${need}`);
  }
  const used: ByteRange[] = [];
  for (let byte = 0; byte < need; byte += MAX_BITMAP_READ) {
    const n = Math.min(MAX_BITMAP_READ, need - byte);
    const chunk = await readStream(read, boot, bitmapAttr.runs, byte, n);
    const bits = Math.min(n * 8, boot.clusters - byte * 8);
    used.push(...bitmapRanges(chunk, bits, byte * 8 * boot.clusterSize, boot.clusterSize));
  }
  checkSystemClusters(used, boot);
  used.push([boot.clusters * boot.clusterSize, length]);
  return {
    fs: 'ntfs',
    detail: `NTFS, ${boot.clusterSize}-byte clusters`,
    used: mergeRanges(used),
    unit: boot.clusterSize,
  };
}

/** The bitmap must mark the boot cluster and $MFT's first cluster used. */
function checkSystemClusters(used: ByteRange[], boot: NtfsBoot): void {
  for (const lcn of [0, boot.mftLcn]) {
    const byte = lcn * boot.clusterSize;
    if (!used.some(([s, e]) => s <= byte && byte < e)) {
      throw mapError(`NTFS $Bitmap marks system cluster ${lcn} free`);
    }
  }
}
