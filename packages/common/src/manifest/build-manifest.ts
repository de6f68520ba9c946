import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { CascadeError } from '../errors.js';
import {
  computeImageId,
  DEFAULT_SLICE_SIZE,
  MANIFEST_VERSION,
  MAX_SLICE_SIZE,
  MIN_SLICE_SIZE,
  SliceBitmap,
  sliceCount,
  type Manifest,
} from './manifest.js';

export interface BuildManifestOptions {
  sliceSize?: number;
  /** Size to read; defaults to fstat's size (block devices pass their real size). */
  size?: number;
  name?: string;
  /** Called after each slice with (slicesDone, sliceCount). */
  onProgress?: (done: number, total: number) => void;
}

/** True when every byte of `buf` is zero. */
export function isAllZero(buf: Buffer): boolean {
  return buf.equals(zeroBuffer(buf.length));
}

let zeros = Buffer.alloc(0);
function zeroBuffer(n: number): Buffer {
  if (zeros.length < n) zeros = Buffer.alloc(n);
  return zeros.subarray(0, n);
}

/** MD5 hex of a slice given as one buffer or a list of chunks. */
export function md5Hex(data: Buffer | readonly Buffer[]): string {
  const h = createHash('md5');
  if (Buffer.isBuffer(data)) h.update(data);
  else for (const c of data) h.update(c);
  return h.digest('hex');
}

/** Read an image once and build its manifest: MD5 per slice, zero slices flagged. */
export async function buildManifest(path: string, options: BuildManifestOptions = {}): Promise<Manifest> {
  const sliceSize = options.sliceSize ?? DEFAULT_SLICE_SIZE;
  if (!Number.isInteger(sliceSize) || sliceSize < MIN_SLICE_SIZE || sliceSize > MAX_SLICE_SIZE) {
    throw new CascadeError(
      'ERR_BAD_CONFIG',
      `slice size must be between ${MIN_SLICE_SIZE} and ${MAX_SLICE_SIZE} bytes`,
    );
  }
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new CascadeError('ERR_IMAGE_UNREADABLE', `cannot open image ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    const size = options.size ?? (await fh.stat()).size;
    const count = sliceCount(size, sliceSize);
    const digests: string[] = new Array<string>(count);
    const zero = new SliceBitmap(count);
    const buf = Buffer.allocUnsafe(sliceSize);
    for (let i = 0; i < count; i++) {
      const want = Math.min(sliceSize, size - i * sliceSize);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await fh.read(buf, got, want - got, i * sliceSize + got);
        if (bytesRead === 0) {
          throw new CascadeError(
            'ERR_IMAGE_UNREADABLE',
            `image ${path} ended at ${i * sliceSize + got} of ${size} bytes`,
          );
        }
        got += bytesRead;
      }
      const slice = buf.subarray(0, want);
      digests[i] = md5Hex(slice);
      if (isAllZero(slice)) zero.set(i);
      options.onProgress?.(i + 1, count);
    }
    const body = { version: MANIFEST_VERSION, size, sliceSize, digest: 'md5' as const, digests, zero: zero.toBase64() };
    return { ...body, imageId: computeImageId(body), name: options.name ?? basename(path) };
  } finally {
    await fh.close();
  }
}
