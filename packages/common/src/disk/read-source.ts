/**
 * The one input of the disk parsers: a read function over an image or block device. Parsers see a
 * partition through `within()`, so their offsets start at 0 and a read past the partition's end
 * fails instead of reading a neighbour.
 */
import { CascadeError } from '../errors.js';
import type { ByteRange } from './ranges.js';

/** Read `length` bytes at `offset`; may return fewer only at the end of the source. */
export type ReadAt = (offset: number, length: number) => Promise<Buffer>;

/** Filesystems whose allocation maps are read. */
export type FsKind = 'ext' | 'ntfs' | 'fat' | 'swap' | 'unknown';

/** What a filesystem parser found: used ranges relative to the partition start. */
export interface FsMap {
  fs: FsKind;
  /** e.g. `ext4`, `FAT32`, `NTFS 3.1`, `swap v1`. */
  detail: string;
  /** Normal range list, relative to the partition's first byte. */
  used: ByteRange[];
  /** Allocation unit of the map (block or cluster size) in bytes. */
  unit: number;
}

/** Thrown by parsers when a recognised filesystem's map cannot be trusted. */
export function mapError(message: string): CascadeError {
  return new CascadeError('ERR_DISK_MAP', message);
}

/** A read function over `[base, base + length)` of `read`, failing on short or out-of-range reads. */
export function within(read: ReadAt, base: number, length: number): ReadAt {
  return async (offset, n) => {
    if (offset < 0 || n < 0 || offset + n > length) {
      throw mapError(`read of ${n} bytes at ${offset} is outside the ${length}-byte area`);
    }
    const buf = await read(base + offset, n);
    if (buf.length < n) throw mapError(`short read: ${buf.length} of ${n} bytes at ${base + offset}`);
    return buf.length === n ? buf : buf.subarray(0, n);
  };
}

/** An unsigned 64-bit little-endian field as a number, failing past 2^53. */
export function u64(buf: Buffer, at: number): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw mapError(`64-bit field at ${at} is too large (${v})`);
  return Number(v);
}
