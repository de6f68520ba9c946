import { mergeRanges, type ByteRange } from '../disk/ranges.js';
import { CascadeError } from '../errors.js';

/**
 * Which bytes of an image its filesystems use — the only bytes that are read, sent and written.
 * A manifest without a used map means every byte is used (`--whole-disk`, or an image nobody
 * could map). Ranges are byte offsets `[start, end)`, sorted and disjoint, at USED_UNIT
 * granularity (a range may end at the image's size, which need not be a multiple of it).
 *
 * A slice's *payload* is the concatenation of its used bytes, in order: what its digest covers,
 * what crosses the wire (compressed or not) and what a peer writes back at the same offsets.
 *
 * Encoding (the manifest's `used` field): base64 of unsigned LEB128 varints, alternating the gap
 * before a range and the range's length, both in USED_UNIT units.
 */
export const USED_UNIT = 512;

/** Most ranges a used map may hold (a badly fragmented 2 TB disk stays far below). */
export const MAX_USED_RANGES = 8 * 1024 * 1024;

export class UsedMap {
  /** [start0, end0, start1, end1, …] in bytes. */
  private readonly bounds: Float64Array;
  readonly usedBytes: number;

  private constructor(
    bounds: Float64Array,
    readonly size: number,
  ) {
    this.bounds = bounds;
    let used = 0;
    for (let i = 0; i < bounds.length; i += 2) used += (bounds[i + 1] as number) - (bounds[i] as number);
    this.usedBytes = used;
  }

  /** Ranges rounded outward to USED_UNIT (clamped to `size`), sorted and merged. */
  static fromRanges(ranges: Iterable<ByteRange>, size: number): UsedMap {
    const rounded = [...ranges].map(([s, e]): ByteRange => [
      Math.max(0, Math.floor(s / USED_UNIT) * USED_UNIT),
      Math.min(size, Math.ceil(e / USED_UNIT) * USED_UNIT),
    ]);
    return new UsedMap(Float64Array.from(mergeRanges(rounded).flat()), size);
  }

  /** Decode a manifest's `used` field; anything malformed or outside the image is ERR_MANIFEST_INVALID. */
  static decode(b64: string, size: number): UsedMap {
    const bytes = Buffer.from(b64, 'base64');
    const bad = (why: string): CascadeError => new CascadeError('ERR_MANIFEST_INVALID', `used map: ${why}`);
    const out: number[] = [];
    let pos = 0;
    let at = 0;
    const varint = (): number => {
      let value = 0;
      let scale = 1;
      for (let n = 0; n < 8; n++) {
        if (pos >= bytes.length) throw bad('truncated');
        const b = bytes[pos++] as number;
        value += (b & 0x7f) * scale;
        if ((b & 0x80) === 0) return value;
        scale *= 128;
      }
      throw bad('a number is too long');
    };
    while (pos < bytes.length) {
      const gap = varint();
      const length = varint();
      if (length === 0 || (out.length > 0 && gap === 0)) throw bad('ranges must be non-empty and apart');
      const start = (at + gap) * USED_UNIT;
      const end = Math.min(size, (at + gap + length) * USED_UNIT);
      if (start >= size || end <= start) throw bad(`a range lies outside the image's ${size} bytes`);
      if (out.length >= MAX_USED_RANGES * 2) throw bad(`more than ${MAX_USED_RANGES} ranges`);
      out.push(start, end);
      at += gap + length;
    }
    return new UsedMap(Float64Array.from(out), size);
  }

  encode(): string {
    const bytes: number[] = [];
    const varint = (v: number): void => {
      let rest = v;
      while (rest >= 128) {
        bytes.push((rest % 128) | 0x80);
        rest = Math.floor(rest / 128);
      }
      bytes.push(rest);
    };
    let at = 0;
    for (let i = 0; i < this.bounds.length; i += 2) {
      const start = (this.bounds[i] as number) / USED_UNIT;
      const end = Math.ceil((this.bounds[i + 1] as number) / USED_UNIT);
      varint(start - at);
      varint(end - start);
      at = end;
    }
    return Buffer.from(bytes).toString('base64');
  }

  get rangeCount(): number {
    return this.bounds.length / 2;
  }

  /** Every range, in order. */
  *ranges(): Generator<ByteRange> {
    for (let i = 0; i < this.bounds.length; i += 2) yield [this.bounds[i] as number, this.bounds[i + 1] as number];
  }

  /** The used parts of `[start, end)`, absolute, in order. */
  within(start: number, end: number): ByteRange[] {
    const out: ByteRange[] = [];
    for (let i = this.firstEndingAfter(start); i < this.bounds.length; i += 2) {
      const s = this.bounds[i] as number;
      if (s >= end) break;
      out.push([Math.max(s, start), Math.min(this.bounds[i + 1] as number, end)]);
    }
    return out;
  }

  /** Used bytes in `[start, end)`. */
  bytesWithin(start: number, end: number): number {
    let n = 0;
    for (const [s, e] of this.within(start, end)) n += e - s;
    return n;
  }

  /** Index (into bounds) of the first range that ends after `offset` (binary search). */
  private firstEndingAfter(offset: number): number {
    let lo = 0;
    let hi = this.bounds.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.bounds[mid * 2 + 1] as number) <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo * 2;
  }
}

/** Where each piece of a slice's payload lands: absolute offset, and offset within the payload. */
export interface PayloadPiece {
  position: number;
  payloadOffset: number;
  length: number;
}

/** The pieces of slice `[start, end)`'s payload (one piece, the whole slice, without a used map). */
export function payloadPieces(used: UsedMap | null, start: number, end: number): PayloadPiece[] {
  if (!used) return end > start ? [{ position: start, payloadOffset: 0, length: end - start }] : [];
  let off = 0;
  return used.within(start, end).map(([s, e]) => {
    const piece = { position: s, payloadOffset: off, length: e - s };
    off += e - s;
    return piece;
  });
}
