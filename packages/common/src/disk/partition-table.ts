/**
 * Partition tables: GPT (primary header and entries, CRC-checked, the backup header when the
 * primary is damaged) and MBR (four primary entries and the extended chain of logical partitions).
 * Sector size 512, or 4096 for a GPT whose header sits at byte 4096. A table that cannot be
 * trusted yields no partitions and a warning: the caller then sends the whole disk.
 */
import { crc32 } from 'node:zlib';
import { CascadeError } from '../errors.js';
import { GPT_TYPES, MBR_EXTENDED, MBR_TYPES, guidText } from './gpt-types.js';
import { mapError, u64, type ReadAt } from './read-source.js';

/** One partition as the table describes it (bytes, absolute). */
export interface PartitionEntry {
  /** 1-based: GPT entry number; MBR 1–4 primary, 5… logical (as Linux numbers them). */
  index: number;
  start: number;
  length: number;
  /** `0x83` for MBR, the type GUID for GPT. */
  type: string;
  /** Human name of the type, `unknown` when not listed. */
  typeName: string;
  /** GPT partition name, when set. */
  name?: string;
}

export interface PartitionTable {
  table: 'mbr' | 'gpt' | 'none';
  partitions: PartitionEntry[];
  warnings: string[];
}

const MAX_LOGICAL = 128;
const MAX_GPT_ENTRIES_BYTES = 1 << 20;

/** GPT header at `lba` (sector size `ss`), or the reason it is not a valid one. */
async function gptHeader(read: ReadAt, size: number, lba: number, ss: number): Promise<Buffer | string> {
  if ((lba + 1) * ss > size) return `header LBA ${lba} is past the end of the disk`;
  const h = await read(lba * ss, ss);
  if (h.toString('latin1', 0, 8) !== 'EFI PART') return `no signature at LBA ${lba}`;
  const hsize = h.readUInt32LE(12);
  if (hsize < 92 || hsize > ss) return `header size ${hsize} at LBA ${lba}`;
  const copy = Buffer.from(h.subarray(0, hsize));
  copy.writeUInt32LE(0, 16);
  if (crc32(copy) !== h.readUInt32LE(16)) return `header CRC mismatch at LBA ${lba}`;
  return h;
}

async function gptEntries(read: ReadAt, size: number, h: Buffer, ss: number): Promise<PartitionEntry[]> {
  const count = h.readUInt32LE(80);
  const esize = h.readUInt32LE(84);
  const bytes = count * esize;
  if (esize < 128 || esize % 8 !== 0 || bytes > MAX_GPT_ENTRIES_BYTES) {
    throw mapError(`GPT: ${count} entries of ${esize} bytes`);
  }
  const at = u64(h, 72) * ss;
  if (at + bytes > size) throw mapError('GPT: partition entries lie past the end of the disk');
  const raw = await read(at, bytes);
  if (crc32(raw) !== h.readUInt32LE(88)) throw mapError('GPT: partition entries CRC mismatch');
  const out: PartitionEntry[] = [];
  for (let i = 0; i < count; i++) {
    const e = raw.subarray(i * esize, (i + 1) * esize);
    const type = guidText(e, 0);
    if (type === '00000000-0000-0000-0000-000000000000') continue;
    const first = u64(e, 32);
    const last = u64(e, 40);
    const name = e.toString('utf16le', 56, 128).replace(/\0.*$/s, '');
    out.push({
      index: i + 1,
      start: first * ss,
      length: (last - first + 1) * ss,
      type,
      typeName: GPT_TYPES[type] ?? 'unknown',
      ...(name === '' ? {} : { name }),
    });
  }
  return out;
}

async function readGpt(read: ReadAt, size: number, ss: number, warnings: string[]): Promise<PartitionEntry[]> {
  const primary = await gptHeader(read, size, 1, ss);
  let header = primary;
  if (typeof primary === 'string') {
    const backup = await gptHeader(read, size, Math.floor(size / ss) - 1, ss);
    if (typeof backup === 'string') throw mapError(`GPT: primary ${primary}; backup ${backup}`);
    warnings.push(`GPT primary header unusable (${primary}); using the backup header`);
    header = backup;
  }
  return gptEntries(read, size, header as Buffer, ss);
}

function mbrEntry(sector: Buffer, slot: number): { type: number; lba: number; sectors: number } {
  const at = 446 + slot * 16;
  return { type: sector[at + 4]!, lba: sector.readUInt32LE(at + 8), sectors: sector.readUInt32LE(at + 12) };
}

function mbrPartition(index: number, type: number, lba: number, sectors: number): PartitionEntry {
  return {
    index,
    start: lba * 512,
    length: sectors * 512,
    type: `0x${type.toString(16).padStart(2, '0')}`,
    typeName: MBR_TYPES[type] ?? 'unknown',
  };
}

/** Logical partitions of the extended partition at `baseLba`: one EBR per logical, chained. */
async function readLogical(read: ReadAt, size: number, baseLba: number, warnings: string[]) {
  const out: PartitionEntry[] = [];
  const seen = new Set<number>();
  let ebrLba = baseLba;
  while (out.length < MAX_LOGICAL) {
    if (seen.has(ebrLba) || (ebrLba + 1) * 512 > size) {
      warnings.push(`MBR: extended partition chain loops or leaves the disk at LBA ${ebrLba}`);
      break;
    }
    seen.add(ebrLba);
    const ebr = await read(ebrLba * 512, 512);
    if (ebr.readUInt16LE(510) !== 0xaa55) {
      warnings.push(`MBR: extended boot record at LBA ${ebrLba} has no signature`);
      break;
    }
    const part = mbrEntry(ebr, 0);
    if (part.type !== 0 && part.sectors > 0) {
      out.push(mbrPartition(5 + out.length, part.type, ebrLba + part.lba, part.sectors));
    }
    const next = mbrEntry(ebr, 1);
    if (next.type === 0 || next.sectors === 0) break;
    ebrLba = baseLba + next.lba;
  }
  return out;
}

async function readMbr(read: ReadAt, size: number, mbr: Buffer, warnings: string[]): Promise<PartitionEntry[]> {
  const out: PartitionEntry[] = [];
  for (let slot = 0; slot < 4; slot++) {
    const e = mbrEntry(mbr, slot);
    if (e.type === 0 || e.sectors === 0) continue;
    if (MBR_EXTENDED.has(e.type)) out.push(...(await readLogical(read, size, e.lba, warnings)));
    else out.push(mbrPartition(slot + 1, e.type, e.lba, e.sectors));
  }
  return out;
}

/** True when sector 0 is an MBR: signature, boot flags 0x00/0x80, and at least one entry. */
export function looksLikeMbr(mbr: Buffer): boolean {
  if (mbr.length < 512 || mbr.readUInt16LE(510) !== 0xaa55) return false;
  let any = false;
  for (let slot = 0; slot < 4; slot++) {
    const at = 446 + slot * 16;
    if (mbr[at] !== 0 && mbr[at] !== 0x80) return false;
    if (mbr[at + 4] !== 0) any = true;
  }
  return any;
}

/**
 * Read the partition table of a disk of `size` bytes. `table: 'none'` with no partitions when
 * sector 0 is not an MBR (a bare filesystem, or nothing known); a damaged table gives no partitions
 * and a warning.
 */
export async function readPartitionTable(read: ReadAt, size: number): Promise<PartitionTable> {
  const warnings: string[] = [];
  const mbr = size >= 512 ? await read(0, 512) : Buffer.alloc(0);
  if (!looksLikeMbr(mbr)) return { table: 'none', partitions: [], warnings };
  const protective = [0, 1, 2, 3].some((slot) => mbrEntry(mbr, slot).type === 0xee);
  try {
    if (!protective) return { table: 'mbr', partitions: await readMbr(read, size, mbr, warnings), warnings };
    const ss = size >= 8192 && (await read(4096, 8)).toString('latin1') === 'EFI PART' ? 4096 : 512;
    return { table: 'gpt', partitions: await readGpt(read, size, ss, warnings), warnings };
  } catch (err) {
    if (!(err instanceof CascadeError)) throw err;
    warnings.push(`${protective ? 'GPT' : 'MBR'} partition table unreadable (${err.message}): disk sent whole`);
    return { table: protective ? 'gpt' : 'mbr', partitions: [], warnings };
  }
}
