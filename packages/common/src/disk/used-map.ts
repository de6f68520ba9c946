/**
 * Compact serialisation of a used-range list for the manifest: LEB128 varints, first the unit in
 * bytes, then run lengths in units alternating free, used, free, used… starting with free (which
 * may be 0). Ranges are widened to whole units (a unit holding any used byte is used), and the last
 * run is clipped to the image size on decoding. A map with few runs is a few bytes; each run costs
 * 1–4 bytes at 4 KiB units (a run under 512 MiB fits in 3 bytes).
 */
import { CascadeError } from '../errors.js';
import { mergeRanges, type ByteRange } from './ranges.js';

/** Default granularity: 4 KiB, the ext4/NTFS cluster size and a page. */
export const USED_MAP_UNIT = 4096;

const MAX_VARINT_BYTES = 8;

function pushVarint(out: number[], n: number): void {
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/** Encode a range list (any order) over an image of `size` bytes at `unit` granularity. */
export function encodeUsedMap(used: readonly ByteRange[], size: number, unit = USED_MAP_UNIT): Buffer {
  if (!Number.isInteger(unit) || unit < 1) throw new CascadeError('ERR_BAD_CONFIG', `used-map unit ${unit}`);
  const units = Math.ceil(size / unit);
  const widened = mergeRanges(
    used.map(([s, e]): ByteRange => [Math.floor(s / unit), Math.min(units, Math.ceil(e / unit))]),
  );
  const out: number[] = [];
  pushVarint(out, unit);
  let at = 0;
  for (const [s, e] of widened) {
    if (e <= s) continue;
    pushVarint(out, s - at);
    pushVarint(out, e - s);
    at = e;
  }
  return Buffer.from(out);
}

/** Decode `encodeUsedMap` output into absolute byte ranges (normal list, clipped to `size`). */
export function decodeUsedMap(buf: Buffer, size: number): ByteRange[] {
  const bad = (why: string): never => {
    throw new CascadeError('ERR_MANIFEST_INVALID', `used map: ${why}`);
  };
  let pos = 0;
  const next = (): number => {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (pos >= buf.length) return bad('truncated varint');
      const b = buf[pos++]!;
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 0x80;
    }
    return bad('varint too long');
  };
  const unit = next();
  if (unit < 1) bad('unit 0');
  const out: [number, number][] = [];
  let at = 0;
  while (pos < buf.length) {
    const start = at + next() * unit;
    const end = start + next() * unit;
    if (end > Math.ceil(size / unit) * unit) bad('a run extends past the image');
    if (end > start) out.push([start, Math.min(end, size)]);
    at = end;
  }
  return mergeRanges(out);
}
