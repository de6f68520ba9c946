import { createHash } from 'node:crypto';

/** Per-slice digest algorithms a manifest may name. MD5 is the default; sha256 resists forgery. */
export const DIGEST_ALGORITHMS = ['md5', 'sha256'] as const;
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];
export const DEFAULT_DIGEST: DigestAlgorithm = 'md5';

/** Hex length of one slice digest for each algorithm. */
export const DIGEST_HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { md5: 32, sha256: 64 };

/**
 * The one place slices are hashed: hex digest of a slice given as one buffer or a list of
 * chunks (as received from the wire, never joined).
 */
export function sliceDigest(algorithm: DigestAlgorithm, data: Buffer | readonly Buffer[]): string {
  const h = createHash(algorithm);
  if (Buffer.isBuffer(data)) h.update(data);
  else for (const c of data) h.update(c);
  return h.digest('hex');
}

const zeroDigests = new Map<string, string>();
/** Digest of `length` zero bytes (memoized: a manifest has at most two slice lengths). */
export function zeroSliceDigest(algorithm: DigestAlgorithm, length: number): string {
  const key = `${algorithm}:${length}`;
  let d = zeroDigests.get(key);
  if (d === undefined) {
    d = sliceDigest(algorithm, Buffer.alloc(length));
    zeroDigests.set(key, d);
  }
  return d;
}
