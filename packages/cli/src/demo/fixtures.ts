import { createCipheriv, createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

export interface ImageSpec {
  size: number;
  /** Seed for the deterministic content. */
  seed?: string;
  /** Zero regions as [start, end) byte ranges. Default: a few slice-sized holes. */
  zeros?: Array<[number, number]>;
}

/** Default zero regions: one large hole in the middle and a small one near the end. */
export function defaultZeros(size: number): Array<[number, number]> {
  const mib = 1024 * 1024;
  if (size < 32 * mib) return [[Math.floor(size / 3), Math.floor(size / 3) + Math.floor(Math.min(size / 6, 8 * mib))]];
  const mid = Math.floor(size / 2 / mib) * mib;
  return [
    [mid, mid + Math.floor(size / 8 / mib) * mib],
    [size - 12 * mib, size - 8 * mib],
  ];
}

/**
 * Write a deterministic image: an AES-CTR keystream (fast, incompressible, same bytes for the
 * same seed) with zero regions. Returns nothing; the content is a function of (size, seed, zeros).
 */
export async function writeImage(path: string, spec: ImageSpec): Promise<void> {
  const key = createHash('sha256')
    .update(spec.seed ?? 'cascade-demo')
    .digest()
    .subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = spec.zeros ?? defaultZeros(spec.size);
  const chunk = 4 * 1024 * 1024;
  const plain = Buffer.alloc(chunk);
  const fh = await open(path, 'w');
  try {
    for (let pos = 0; pos < spec.size; pos += chunk) {
      const n = Math.min(chunk, spec.size - pos);
      const data = cipher.update(plain.subarray(0, n));
      for (const [a, b] of zeros) {
        const s = Math.max(a, pos);
        const e = Math.min(b, pos + n);
        if (s < e) data.fill(0, s - pos, e - pos);
      }
      await fh.write(data, 0, n, pos);
    }
  } finally {
    await fh.close();
  }
}

/** Compare two files byte for byte over the first `size` bytes; returns the first differing offset or -1. */
export async function firstDifference(a: string, b: string, size: number): Promise<number> {
  const fa = await open(a, 'r');
  const fb = await open(b, 'r');
  try {
    const chunk = 4 * 1024 * 1024;
    const ba = Buffer.alloc(chunk);
    const bb = Buffer.alloc(chunk);
    for (let pos = 0; pos < size; pos += chunk) {
      const n = Math.min(chunk, size - pos);
      const ra = await fa.read(ba, 0, n, pos);
      const rb = await fb.read(bb, 0, n, pos);
      if (ra.bytesRead !== n || rb.bytesRead !== n) return pos + Math.min(ra.bytesRead, rb.bytesRead);
      if (!ba.subarray(0, n).equals(bb.subarray(0, n))) {
        for (let i = 0; i < n; i++) if (ba[i] !== bb[i]) return pos + i;
      }
    }
    const sa = (await fa.stat()).size;
    const sb = (await fb.stat()).size;
    return sa === sb || b.startsWith('/dev/') ? -1 : Math.min(sa, sb);
  } finally {
    await fa.close();
    await fb.close();
  }
}
