import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { CascadeError } from '../errors.js';
import { DEFAULT_DIGEST, DIGEST_ALGORITHMS, sliceDigest, type DigestAlgorithm } from './digest.js';
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
import { payloadPieces, type PayloadPiece, type UsedMap } from './used-map.js';

export interface BuildManifestOptions {
  sliceSize?: number;
  /** Size to read; defaults to fstat's size (block devices pass their real size). */
  size?: number;
  name?: string;
  /** Per-slice digest algorithm (default md5). */
  digest?: DigestAlgorithm;
  /** Called after each slice with (slicesDone, sliceCount). */
  onProgress?: (done: number, total: number) => void;
  /** Hash slices elsewhere (a DigestPool's digest), `hashers` at once; default: inline, one at a time. */
  hash?: (algorithm: DigestAlgorithm, chunks: readonly Buffer[]) => Promise<string>;
  hashers?: number;
  /**
   * The bytes the filesystems use (readDiskLayout's map): only they are read and hashed, and the
   * manifest carries the map. Absent or null: every byte (`--whole-disk`).
   */
  used?: UsedMap | null | undefined;
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
  return sliceDigest('md5', data);
}

function sliceBuffers(count: number, size: number, shared: boolean): Buffer[] {
  return Array.from({ length: count }, () =>
    shared ? Buffer.from(new SharedArrayBuffer(size)) : Buffer.allocUnsafe(size),
  );
}

/**
 * Read a slice's payload (its used pieces, one after another) into `buf`; the image ending early
 * is ERR_IMAGE_UNREADABLE.
 */
export async function readPayload(
  fh: FileHandle,
  at: { path: string; size: number },
  buf: Buffer,
  pieces: readonly PayloadPiece[],
): Promise<Buffer> {
  let length = 0;
  for (const p of pieces) {
    let got = 0;
    while (got < p.length) {
      const { bytesRead } = await fh.read(buf, p.payloadOffset + got, p.length - got, p.position + got);
      if (bytesRead === 0) {
        throw new CascadeError(
          'ERR_IMAGE_UNREADABLE',
          `image ${at.path} ended at ${p.position + got} of ${at.size} bytes`,
        );
      }
      got += bytesRead;
    }
    length = p.payloadOffset + p.length;
  }
  return buf.subarray(0, length);
}

/** Read an image once and build its manifest: a digest per slice, zero slices flagged. */
export async function buildManifest(path: string, options: BuildManifestOptions = {}): Promise<Manifest> {
  const sliceSize = options.sliceSize ?? DEFAULT_SLICE_SIZE;
  if (!Number.isInteger(sliceSize) || sliceSize < MIN_SLICE_SIZE || sliceSize > MAX_SLICE_SIZE) {
    throw new CascadeError(
      'ERR_BAD_CONFIG',
      `slice size must be between ${MIN_SLICE_SIZE} and ${MAX_SLICE_SIZE} bytes`,
    );
  }
  const digest = options.digest ?? DEFAULT_DIGEST;
  if (!DIGEST_ALGORITHMS.includes(digest)) {
    throw new CascadeError('ERR_BAD_CONFIG', `digest must be one of ${DIGEST_ALGORITHMS.join(', ')}`);
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
    // Slices being hashed while the next are read: each holds its own buffer until its digest is in
    // (in shared memory when hashed elsewhere: a DigestPool's threads read it where it lies).
    const ahead = options.hash ? Math.max(1, options.hashers ?? 1) + 1 : 1;
    const free = sliceBuffers(ahead, sliceSize, options.hash !== undefined);
    const hashing = new Map<number, Promise<void>>();
    let done = 0;
    for (let i = 0; i < count; i++) {
      if (free.length === 0) await hashing.get(Math.min(...hashing.keys()));
      const buf = free.pop() as Buffer;
      const start = i * sliceSize;
      const pieces = payloadPieces(options.used ?? null, start, Math.min(start + sliceSize, size));
      const slice = await readPayload(fh, { path, size }, buf, pieces);
      if (isAllZero(slice)) zero.set(i);
      const hex = options.hash ? options.hash(digest, [slice]) : Promise.resolve(sliceDigest(digest, slice));
      const settled = hex.then((d) => {
        digests[i] = d;
        hashing.delete(i);
        free.push(buf);
        options.onProgress?.(++done, count);
      });
      settled.catch(() => undefined); // awaited below (or in the loop)
      hashing.set(i, settled);
    }
    await Promise.all(hashing.values());
    const used = options.used ? { used: options.used.encode() } : {};
    const body = { version: MANIFEST_VERSION, size, sliceSize, digest, digests, zero: zero.toBase64(), ...used };
    return { ...body, imageId: computeImageId(body), name: options.name ?? basename(path) };
  } finally {
    await fh.close();
  }
}
