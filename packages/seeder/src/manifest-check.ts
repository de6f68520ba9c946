import { randomInt } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { CascadeError, readPayload, sliceDigest, slicePieces, type Manifest } from '@cascade/common';

/** Slices read to check a block device's cached manifest (plus the first and the last). */
export const CACHE_SAMPLE_SLICES = 32;

/**
 * Which slices to check: all when there are few, else the first, the last and `n` others drawn at
 * random (a fresh draw on every start, so a change cannot hide in slices known to be skipped).
 */
export function sampleSlices(count: number, n = CACHE_SAMPLE_SLICES): number[] {
  if (count <= n + 2) return Array.from({ length: count }, (_, i) => i);
  const picked = new Set<number>([0, count - 1]);
  for (let guard = 0; picked.size < n + 2 && guard < 100 * n; guard++) picked.add(randomInt(count));
  return [...picked].sort((a, b) => a - b);
}

/** Slice `index`'s payload (its used bytes) from the image, or null when the image ends early. */
async function readSlice(fh: FileHandle, m: Manifest, index: number, buf: Buffer): Promise<Buffer | null> {
  return readPayload(fh, { path: m.name, size: m.size }, buf, slicePieces(m, index)).catch(() => null);
}

/** Indices among `indices` whose bytes in the open image no longer match the manifest's digests. */
/** Open the image for reading; a failure is ERR_IMAGE_UNREADABLE naming the path. */
export async function openImage(imagePath: string): Promise<FileHandle> {
  try {
    return await open(imagePath, 'r');
  } catch (err) {
    const why = `cannot open image ${imagePath}: ${(err as Error).message}`;
    throw new CascadeError('ERR_IMAGE_UNREADABLE', why, { cause: err });
  }
}

export async function mismatchedSlices(fh: FileHandle, m: Manifest, indices: readonly number[]): Promise<number[]> {
  const buf = Buffer.allocUnsafe(m.sliceSize);
  const bad: number[] = [];
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= m.digests.length) continue;
    const data = await readSlice(fh, m, i, buf);
    if (!data || sliceDigest(m.digest, data) !== m.digests[i]) bad.push(i);
  }
  return bad;
}

/**
 * Re-check slices a client reported bad against the seeder's own image. Resolves with the slices
 * whose bytes fail their digest: when any does, the image changed under the seeder, which must
 * stop serving it (ERR_IMAGE_CHANGED). The seeder calls this on a bad-slice report.
 */
export async function recheckReportedSlices(
  imagePath: string,
  m: Manifest,
  indices: readonly number[],
): Promise<number[]> {
  const fh = await openImage(imagePath);
  try {
    return await mismatchedSlices(fh, m, indices.slice(0, 4096));
  } finally {
    await fh.close();
  }
}
