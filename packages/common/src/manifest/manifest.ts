import { createHash } from 'node:crypto';
import { z } from 'zod';
import { CascadeError } from '../errors.js';
import { DIGEST_ALGORITHMS, DIGEST_HEX_LENGTH, zeroSliceDigest, type DigestAlgorithm } from './digest.js';
import { payloadPieces, UsedMap, type PayloadPiece } from './used-map.js';

export const MANIFEST_VERSION = 1 as const;
export const DEFAULT_SLICE_SIZE = 4 * 1024 * 1024;
export const MIN_SLICE_SIZE = 64 * 1024;
export const MAX_SLICE_SIZE = 64 * 1024 * 1024;

/** What every machine needs to know about an image to fetch and verify it. */
export interface Manifest {
  version: typeof MANIFEST_VERSION;
  /** Digest of the manifest's content (not its name): a changed image is a different image. */
  imageId: string;
  /** The image's file name, for people. */
  name: string;
  size: number;
  sliceSize: number;
  /** Per-slice digest algorithm: md5 (default) or sha256. */
  digest: DigestAlgorithm;
  /** Hex digest of every slice, in order (the last slice may be short). */
  digests: string[];
  /**
   * Bitmap, base64: bit i (LSB first) set when slice i's payload is all zeros (or empty) and never
   * crosses the wire.
   */
  zero: string;
  /**
   * The bytes the image's filesystems use (used-map.ts), when known: only they are read, sent,
   * written and covered by the slice digests. Absent: every byte (`--whole-disk`).
   */
  used?: string | undefined;
  /** Ed25519 signature over the manifest's content digest (see manifest-signature.ts). */
  signature?: ManifestSignature | undefined;
}

export interface ManifestSignature {
  alg: 'ed25519';
  /** The signer's public key: base64 of the raw 32 bytes. */
  key: string;
  /** base64 of the 64-byte signature. */
  sig: string;
}

const hexDigest = z.string().regex(/^(?:[0-9a-f]{32}|[0-9a-f]{64})$/);

export const manifestSchema = z.object({
  version: z.literal(MANIFEST_VERSION),
  imageId: z.string().regex(/^[0-9a-f]{32}$/),
  name: z.string().max(255),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  sliceSize: z.number().int().min(MIN_SLICE_SIZE).max(MAX_SLICE_SIZE),
  digest: z.enum(DIGEST_ALGORITHMS),
  digests: z.array(hexDigest).max(16 * 1024 * 1024),
  zero: z.string().max(4 * 1024 * 1024),
  used: z
    .string()
    .max(64 * 1024 * 1024)
    .optional(),
  signature: z.object({ alg: z.literal('ed25519'), key: z.string().max(64), sig: z.string().max(128) }).optional(),
});

/** Number of slices for an image of `size` bytes. */
export function sliceCount(size: number, sliceSize: number): number {
  return Math.ceil(size / sliceSize);
}

/** Byte length of slice `index` (the last one may be short). */
export function sliceLength(m: Pick<Manifest, 'size' | 'sliceSize'>, index: number): number {
  const start = index * m.sliceSize;
  return Math.max(0, Math.min(m.sliceSize, m.size - start));
}

/** Bitmap helpers for the zero map (and any other per-slice bit set). */
export class SliceBitmap {
  readonly bytes: Uint8Array;
  constructor(
    readonly count: number,
    bytes?: Uint8Array,
  ) {
    this.bytes = bytes ?? new Uint8Array(Math.ceil(count / 8));
  }
  static fromBase64(count: number, b64: string): SliceBitmap {
    const buf = Buffer.from(b64, 'base64');
    if (buf.length !== Math.ceil(count / 8)) {
      throw new CascadeError(
        'ERR_MANIFEST_INVALID',
        `bitmap holds ${buf.length} bytes, expected ${Math.ceil(count / 8)}`,
      );
    }
    return new SliceBitmap(count, new Uint8Array(buf));
  }
  get(i: number): boolean {
    return ((this.bytes[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
  }
  set(i: number): void {
    this.bytes[i >> 3] = (this.bytes[i >> 3] ?? 0) | (1 << (i & 7));
  }
  toBase64(): string {
    return Buffer.from(this.bytes).toString('base64');
  }
  cardinality(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) if (this.get(i)) n++;
    return n;
  }
}

type ManifestContent = Pick<Manifest, 'version' | 'size' | 'sliceSize' | 'digest' | 'digests' | 'zero' | 'used'>;

/**
 * SHA-256 (hex, 64 characters) over everything that defines the image's bytes: version, size,
 * slice size, digest algorithm, zero map and every slice digest — not the name, not a signature.
 */
export function manifestContentDigest(m: ManifestContent): string {
  const h = createHash('sha256');
  h.update(JSON.stringify([m.version, m.size, m.sliceSize, m.digest, m.zero]));
  if (m.used !== undefined) h.update(JSON.stringify(['used', m.used]));
  for (const d of m.digests) h.update(d);
  return h.digest('hex');
}

/** The imageId: the first 128 bits of the content digest (a changed image is a different image). */
export function computeImageId(m: ManifestContent): string {
  return manifestContentDigest(m).slice(0, 32);
}

/** Validate an untrusted manifest: schema, internal consistency and imageId. */
export function parseManifest(input: unknown): Manifest {
  const r = manifestSchema.safeParse(input);
  if (!r.success) {
    throw new CascadeError('ERR_MANIFEST_INVALID', `manifest is malformed: ${r.error.issues[0]?.message ?? 'invalid'}`);
  }
  const m = r.data;
  const count = sliceCount(m.size, m.sliceSize);
  if (m.digests.length !== count) {
    throw new CascadeError('ERR_MANIFEST_INVALID', `manifest lists ${m.digests.length} digests for ${count} slices`);
  }
  const hexLength = DIGEST_HEX_LENGTH[m.digest];
  if (m.digests.some((d) => d.length !== hexLength)) {
    throw new CascadeError('ERR_MANIFEST_INVALID', `every ${m.digest} digest must be ${hexLength} hex characters`);
  }
  if (m.used === undefined) delete m.used;
  const zero = SliceBitmap.fromBase64(count, m.zero);
  for (let i = 0; i < count; i++) {
    if (zero.get(i) && m.digests[i] !== zeroSliceDigest(m.digest, slicePayloadLength(m, i))) {
      throw new CascadeError(
        'ERR_MANIFEST_INVALID',
        `slice ${i} is flagged all-zero but its digest is not that of zeros`,
      );
    }
  }
  if (computeImageId(m) !== m.imageId) {
    throw new CascadeError('ERR_MANIFEST_INVALID', 'manifest imageId does not match its content');
  }
  if (m.signature === undefined) delete m.signature;
  return m;
}

const usedMaps = new WeakMap<Manifest, UsedMap | null>();

/** The manifest's used map (decoded once per manifest object), or null when every byte is used. */
export function usedMap(m: Pick<Manifest, 'used' | 'size'>): UsedMap | null {
  const key = m as Manifest;
  let map = usedMaps.get(key);
  if (map === undefined) {
    map = m.used === undefined ? null : UsedMap.decode(m.used, m.size);
    usedMaps.set(key, map);
  }
  return map;
}

/** Where slice `index`'s payload lands in the image (one piece for the whole slice without a used map). */
export function slicePieces(m: Pick<Manifest, 'used' | 'size' | 'sliceSize'>, index: number): PayloadPiece[] {
  const start = index * m.sliceSize;
  return payloadPieces(usedMap(m), start, start + sliceLength(m, index));
}

/** Bytes in slice `index`'s payload: its used bytes (all of them without a used map). */
export function slicePayloadLength(m: Pick<Manifest, 'used' | 'size' | 'sliceSize'>, index: number): number {
  const map = usedMap(m);
  const start = index * m.sliceSize;
  return map ? map.bytesWithin(start, start + sliceLength(m, index)) : sliceLength(m, index);
}

/** Zero bitmap of a manifest. */
export function zeroMap(m: Manifest): SliceBitmap {
  return SliceBitmap.fromBase64(m.digests.length, m.zero);
}

/** Bytes that cross the wire for a full image (zero slices excluded). */
export function wireBytes(m: Manifest): number {
  const zero = zeroMap(m);
  let total = 0;
  for (let i = 0; i < m.digests.length; i++) if (!zero.get(i)) total += slicePayloadLength(m, i);
  return total;
}
