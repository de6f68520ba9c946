/**
 * Byte ranges `[start, end)` over a disk image: the used-block map's currency. Offsets are plain
 * numbers (exact to 2^53 bytes, 8 PiB). A range list is "normal" when sorted, non-overlapping,
 * non-adjacent and without empty ranges; every function here returns normal lists.
 */

/** `[start, end)` in bytes. */
export type ByteRange = readonly [start: number, end: number];

/** Sort, drop empty ranges, and merge overlapping or adjacent ones. */
export function mergeRanges(ranges: readonly ByteRange[]): ByteRange[] {
  const sorted = ranges.filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: [number, number][] = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/** Total bytes covered by a normal range list. */
export function rangesBytes(ranges: readonly ByteRange[]): number {
  let n = 0;
  for (const [s, e] of ranges) n += e - s;
  return n;
}

/** `[start, end)` minus a normal range list: the gaps, as a normal list. */
export function complementRanges(ranges: readonly ByteRange[], start: number, end: number): ByteRange[] {
  const out: ByteRange[] = [];
  let at = start;
  for (const [s, e] of ranges) {
    if (e <= at) continue;
    if (s >= end) break;
    if (s > at) out.push([at, s]);
    at = Math.max(at, e);
  }
  if (at < end) out.push([at, end]);
  return out;
}

/** Index of the first range in a normal list whose end is past `offset` (binary search). */
function firstEndingAfter(ranges: readonly ByteRange[], offset: number): number {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ranges[mid]![1] <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The parts of a normal range list inside `[sliceStart, sliceEnd)`, as absolute ranges clipped to
 * the slice. O(log n + k). A slice with no used bytes gives `[]`.
 */
export function usedWithin(used: readonly ByteRange[], sliceStart: number, sliceEnd: number): ByteRange[] {
  const out: ByteRange[] = [];
  if (sliceEnd <= sliceStart) return out;
  for (let i = firstEndingAfter(used, sliceStart); i < used.length; i++) {
    const [s, e] = used[i]!;
    if (s >= sliceEnd) break;
    out.push([Math.max(s, sliceStart), Math.min(e, sliceEnd)]);
  }
  return out;
}

/**
 * Ranges of set bits in an allocation bitmap (bit i = LSB-first bit `i % 8` of byte `i >> 3`, the
 * order ext, NTFS and FAT-derived maps use), for bits `[0, count)`. Unit `i` maps to bytes
 * `[base + i * unit, base + (i + 1) * unit)`. Whole 0x00 and 0xff bytes are skipped in one step.
 */
export function bitmapRanges(bitmap: Buffer, count: number, base: number, unit: number): ByteRange[] {
  const out: ByteRange[] = [];
  let runStart = -1;
  const flush = (i: number): void => {
    if (runStart >= 0) out.push([base + runStart * unit, base + i * unit]);
    runStart = -1;
  };
  let i = 0;
  while (i < count) {
    const byte = bitmap[i >> 3] ?? 0;
    if ((i & 7) === 0 && i + 8 <= count && (byte === 0 || byte === 0xff)) {
      if (byte === 0) flush(i);
      else if (runStart < 0) runStart = i;
      i += 8;
      continue;
    }
    if ((byte >> (i & 7)) & 1) {
      if (runStart < 0) runStart = i;
    } else flush(i);
    i++;
  }
  flush(count);
  return out;
}

/** Shift every range by `delta` bytes and clip it to `[lo, hi)`. */
export function shiftClip(ranges: readonly ByteRange[], delta: number, lo: number, hi: number): ByteRange[] {
  const out: ByteRange[] = [];
  for (const [s, e] of ranges) {
    const a = Math.max(s + delta, lo);
    const b = Math.min(e + delta, hi);
    if (b > a) out.push([a, b]);
  }
  return out;
}
