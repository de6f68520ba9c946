import { createCipheriv, createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/**
 * A sparse image: `size` bytes long, deterministic non-zero data (AES-CTR keystream) in the first
 * `share` of every `stride`-byte stretch, holes elsewhere. Returns the bytes of real data written.
 */
export async function writeSparseImage(
  path: string,
  size: number,
  share: number,
  stride = 64 * 2 ** 20,
): Promise<number> {
  const key = createHash('sha256').update('cascade-bench-sparse').digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const chunk = 4 * 2 ** 20;
  const plain = Buffer.alloc(chunk);
  const dataPerStride = Math.floor((stride * share) / chunk) * chunk;
  const fh = await open(path, 'w');
  let written = 0;
  try {
    await fh.truncate(size);
    for (let base = 0; base < size; base += stride) {
      for (let pos = base; pos < Math.min(base + dataPerStride, size); pos += chunk) {
        const n = Math.min(chunk, size - pos);
        await fh.write(cipher.update(plain.subarray(0, n)), 0, n, pos);
        written += n;
      }
    }
  } finally {
    await fh.close();
  }
  return written;
}
