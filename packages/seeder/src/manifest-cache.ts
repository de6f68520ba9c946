import { mkdir, open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import {
  buildManifest,
  CascadeError,
  DEFAULT_DIGEST,
  DEFAULT_SLICE_SIZE,
  parseManifest,
  sizeOf,
  type BuildManifestOptions,
  type DigestAlgorithm,
  type Manifest,
} from '@cascade/common';
import { manifestCacheFile } from './cache-location.js';

/** Where the cached manifest of an image lives by default: beside it. */
export function manifestCachePath(imagePath: string): string {
  return manifestCacheFile(imagePath);
}

interface CacheFile {
  key: { size: number; mtimeMs: number; sliceSize: number };
  manifest: Manifest;
}

export interface LoadManifestOptions {
  sliceSize?: number;
  /** Per-slice digest algorithm (default md5); a cached manifest of another algorithm is rebuilt. */
  digest?: DigestAlgorithm;
  /** Ignore any cached manifest and read the image again. */
  rebuild?: boolean;
  onProgress?: BuildManifestOptions['onProgress'];
  /** Keep the cache in this folder instead of beside the image (see cache-location.ts). */
  cacheDir?: string | undefined;
  /** Called when the cache could not be written (read-only image folder); not fatal. */
  onCacheWriteError?: (err: unknown) => void;
}

/**
 * The image's manifest, from the cache beside it when size, mtime and slice size still match,
 * otherwise built by reading the image once and cached for the next start.
 */
export async function loadOrBuildManifest(
  imagePath: string,
  opts: LoadManifestOptions = {},
): Promise<{ manifest: Manifest; cached: boolean }> {
  const sliceSize = opts.sliceSize ?? DEFAULT_SLICE_SIZE;
  let fh;
  try {
    fh = await open(imagePath, 'r');
  } catch (err) {
    throw new CascadeError('ERR_IMAGE_UNREADABLE', `cannot open image ${imagePath}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let size: number;
  try {
    size = (await sizeOf(fh, imagePath)).size;
  } finally {
    await fh.close();
  }
  const { mtimeMs } = await stat(imagePath);
  const key = { size, mtimeMs, sliceSize };
  const cachePath = manifestCacheFile(imagePath, opts.cacheDir);
  if (!opts.rebuild) {
    const cached = await readCache(cachePath);
    const digest = opts.digest ?? DEFAULT_DIGEST;
    const k = cached?.key;
    if (
      k &&
      k.size === size &&
      k.mtimeMs === mtimeMs &&
      k.sliceSize === sliceSize &&
      cached.manifest.digest === digest
    ) {
      return { manifest: { ...cached.manifest, name: basename(imagePath) }, cached: true };
    }
  }
  const manifest = await buildManifest(imagePath, {
    sliceSize,
    size,
    ...(opts.digest ? { digest: opts.digest } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  try {
    if (opts.cacheDir) await mkdir(dirname(cachePath), { recursive: true });
    const tmp = `${cachePath}.tmp-${process.pid}`;
    await writeFile(tmp, JSON.stringify({ key, manifest } satisfies CacheFile));
    await rename(tmp, cachePath);
  } catch (err) {
    opts.onCacheWriteError?.(err);
  }
  return { manifest, cached: false };
}

async function readCache(path: string): Promise<CacheFile | null> {
  try {
    const raw = JSON.parse(await readFile(path, 'utf8')) as Partial<CacheFile>;
    if (!raw.key || !raw.manifest) return null;
    return { key: raw.key, manifest: parseManifest(raw.manifest) };
  } catch {
    return null; // missing or damaged cache: rebuild
  }
}
