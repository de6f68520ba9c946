/**
 * Slices on the wire: compressed once with zstd (a slice that does not shrink is sent raw), and
 * decompressed into exactly the image bytes the manifest promises, or a CascadeError
 * `ERR_SLICE_DECOMPRESS` — never a crash, never more memory than the slice's image length, whatever
 * a frame's header claims. Synchronous, for the main thread and worker threads alike.
 *
 * @example
 * ```ts
 * const wire = compressSlice(slice, ZSTD_DEFAULT_LEVEL) ?? slice; // null: send it raw
 * const image = decompressSlice(wire, slice.length); // throws ERR_SLICE_DECOMPRESS when corrupt
 * ```
 */

import { CascadeError } from '../errors.js';
import { zstdCodec } from './zstd-codec.js';

/** The level slices are compressed at (BENCHMARKS.md, "zstd: level and library"). */
export const ZSTD_DEFAULT_LEVEL = 3;
/** The levels zstd has (1 fastest … 19 smallest; 20–22 need far more memory to decompress). */
export const ZSTD_MIN_LEVEL = 1;
export const ZSTD_MAX_LEVEL = 19;
/** Largest image length a slice may claim (far above any slice size cascade uses). */
export const MAX_SLICE_IMAGE_LENGTH = 1 << 30;

/**
 * `src` compressed at `level` as one zstd frame, or null when that does not make it smaller (the
 * slice is then sent raw). Throws ERR_BAD_CONFIG for a level zstd does not have.
 */
export function compressSlice(src: Uint8Array, level: number = ZSTD_DEFAULT_LEVEL): Uint8Array | null {
  if (!Number.isInteger(level) || level < ZSTD_MIN_LEVEL || level > ZSTD_MAX_LEVEL)
    throw new CascadeError('ERR_BAD_CONFIG', `zstd level: expected ${ZSTD_MIN_LEVEL}..${ZSTD_MAX_LEVEL}, got ${level}`);
  if (src.length === 0) return null;
  const out = zstdCodec().compress(src, level);
  return out.length < src.length ? out : null;
}

/**
 * The image bytes of a compressed slice: `src` decompressed into exactly `imageLength` bytes (in
 * `into`, when given, which must hold at least that many; the view returned is its start).
 * Throws ERR_SLICE_DECOMPRESS when `src` is not zstd, is corrupt or truncated, or holds more or
 * fewer than `imageLength` bytes; ERR_INTERNAL for a bad `imageLength` or a short `into` (the
 * caller's fault, not the sender's).
 */
export function decompressSlice(src: Uint8Array, imageLength: number, into?: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(imageLength) || imageLength < 0 || imageLength > MAX_SLICE_IMAGE_LENGTH)
    throw new CascadeError('ERR_INTERNAL', `decompress: image length ${imageLength} out of range`);
  if (into && into.length < imageLength)
    throw new CascadeError('ERR_INTERNAL', `decompress: ${into.length} bytes of room for ${imageLength}`);
  const out = into ? into.subarray(0, imageLength) : new Uint8Array(imageLength);
  let written: number;
  try {
    written = zstdCodec().decompressInto(src, out);
  } catch (err) {
    throw new CascadeError('ERR_SLICE_DECOMPRESS', `a compressed slice did not decompress: ${errorText(err)}`, {
      cause: err,
      details: { wireBytes: src.length, imageLength },
    });
  }
  if (written !== imageLength)
    throw new CascadeError(
      'ERR_SLICE_DECOMPRESS',
      `a compressed slice holds ${written} bytes, the manifest says ${imageLength}`,
      { details: { wireBytes: src.length, imageLength, written } },
    );
  return out;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
