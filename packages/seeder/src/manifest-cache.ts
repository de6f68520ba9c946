import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import {
  buildManifest,
  CascadeError,
  DEFAULT_DIGEST,
  DEFAULT_SLICE_SIZE,
  parseManifest,
  sizeOf,
  type BuildManifestOptions,
  type Logger,
  type DigestAlgorithm,
  type Manifest,
} from '@cascade/common';
import { manifestCacheFile } from './cache-location.js';
import { mapImage } from './image-map.js';
import { mismatchedSlices, openImage, sampleSlices } from './manifest-check.js';

/** Where the cached manifest of an image lives by default: beside it. */
export function manifestCachePath(imagePath: string): string {
  return manifestCacheFile(imagePath);
}

interface CacheEntry {
  /** `whole`: every byte was hashed (`--whole-disk`); absent in caches written before used maps. */
  key: { size: number; mtimeMs: number; sliceSize: number; whole?: boolean };
  manifest: Manifest;
}

/**
 * The cache file: one manifest per slice size and digest of the image as it is now (a classic
 * session's 4 MiB slices and a relay session's 1 MiB ones both stay cached). Files written
 * before this held one entry at the top level (`{key, manifest}`); they are still read.
 */
interface CacheFile {
  entries: CacheEntry[];
}

/** Manifests of other slice sizes or digests kept beside the one just built. */
const MAX_CACHE_ENTRIES = 4;

export interface LoadManifestOptions {
  sliceSize?: number;
  /** Per-slice digest algorithm (default md5); a cached manifest of another algorithm is rebuilt. */
  digest?: DigestAlgorithm;
  /** Ignore any cached manifest and read the image again. */
  rebuild?: boolean;
  /** Hash and send every byte, not only those the filesystems use (`--whole-disk`). */
  wholeDisk?: boolean;
  onProgress?: BuildManifestOptions['onProgress'];
  /** Hash slices on these threads when building (a DigestPool's digest and size); default inline. */
  hash?: BuildManifestOptions['hash'];
  hashers?: number;
  /** Keep the cache in this folder instead of beside the image (see cache-location.ts). */
  cacheDir?: string | undefined;
  /** Called when the cache could not be written (read-only image folder); not fatal. */
  onCacheWriteError?: (err: unknown) => void;
  /** Where to say that a block device's cache was checked (and what was found). */
  logger?: Logger;
}

export interface LoadedManifest {
  manifest: Manifest;
  cached: boolean;
  /** Block device with a cache: the slices read to check it, and those that no longer matched. */
  sampled?: { slices: number; mismatched: number };
}

/** The image's size and kind; anything but a regular file or a block device is refused. */
async function imageSize(imagePath: string): Promise<{ size: number; blockDevice: boolean; mtimeMs: number }> {
  const st = await stat(imagePath).catch((err: Error) => {
    throw new CascadeError('ERR_IMAGE_UNREADABLE', `cannot open image ${imagePath}: ${err.message}`, { cause: err });
  });
  if (!st.isFile() && !st.isBlockDevice()) {
    // A FIFO or a character device would block the open forever or never end: refuse it at once.
    throw new CascadeError('ERR_BAD_CONFIG', `image ${imagePath} is not a regular file or block device`);
  }
  const fh = await openImage(imagePath);
  try {
    const { size, blockDevice } = await sizeOf(fh, imagePath);
    return { size, blockDevice, mtimeMs: st.mtimeMs };
  } finally {
    await fh.close();
  }
}

/**
 * A block device's mtime says nothing of its content: check a sample of slices against the
 * cached manifest. Null when any differs (rebuild).
 */
async function checkDeviceCache(
  imagePath: string,
  manifest: Manifest,
  logger: Logger | undefined,
): Promise<LoadedManifest['sampled'] | null> {
  const fh = await openImage(imagePath);
  let bad: number[];
  const sample = sampleSlices(manifest.digests.length);
  try {
    bad = await mismatchedSlices(fh, manifest, sample);
  } finally {
    await fh.close();
  }
  const sampled = { slices: sample.length, mismatched: bad.length };
  if (bad.length > 0) {
    logger?.warn(
      { image: imagePath, ...sampled, first: bad[0] },
      'block device changed since its manifest was cached; rebuilding',
    );
    return null;
  }
  logger?.info({ image: imagePath, ...sampled }, 'verified a sample of the cached manifest of a block device');
  return sampled;
}

/**
 * The image's manifest, from the cache beside it when size, mtime and slice size still match
 * (and, for a block device, whose mtime does not follow its content, when a random sample of
 * slices still matches), otherwise built by reading the image once and cached for the next start.
 * An image that is neither a regular file nor a block device (a FIFO…) is refused: ERR_BAD_CONFIG.
 */
export async function loadOrBuildManifest(imagePath: string, opts: LoadManifestOptions = {}): Promise<LoadedManifest> {
  const sliceSize = opts.sliceSize ?? DEFAULT_SLICE_SIZE;
  const { size, blockDevice, mtimeMs } = await imageSize(imagePath);
  const whole = opts.wholeDisk === true;
  const key = { size, mtimeMs, sliceSize, whole };
  const cachePath = manifestCacheFile(imagePath, opts.cacheDir);
  const digest = opts.digest ?? DEFAULT_DIGEST;
  // Entries for the image as it is now; the one asked for is replaced below if it is rebuilt.
  const current = (await readCache(cachePath)).filter((e) => e.key.size === size && e.key.mtimeMs === mtimeMs);
  const same = (e: CacheEntry): boolean =>
    e.key.sliceSize === sliceSize && e.manifest.digest === digest && (e.key.whole ?? true) === whole;
  const hit = opts.rebuild ? undefined : current.find(same);
  if (hit) {
    const manifest = { ...hit.manifest, name: basename(imagePath) };
    if (!blockDevice) return { manifest, cached: true };
    const sampled = await checkDeviceCache(imagePath, manifest, opts.logger);
    if (sampled) return { manifest, cached: true, sampled };
  }
  const fh = await openImage(imagePath);
  const { used } = await mapImage(fh, size, { wholeDisk: whole, logger: opts.logger, image: imagePath }).finally(() =>
    fh.close(),
  );
  const manifest = await buildManifest(imagePath, {
    sliceSize,
    size,
    used,
    ...(opts.digest ? { digest: opts.digest } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.hash ? { hash: opts.hash, hashers: opts.hashers ?? 1 } : {}),
  });
  try {
    if (opts.cacheDir) await mkdir(dirname(cachePath), { recursive: true });
    const tmp = `${cachePath}.tmp-${process.pid}`;
    const others = current.filter((e) => !same(e)).slice(0, MAX_CACHE_ENTRIES - 1);
    await writeFile(tmp, JSON.stringify({ entries: [{ key, manifest }, ...others] } satisfies CacheFile));
    await rename(tmp, cachePath);
  } catch (err) {
    opts.onCacheWriteError?.(err);
  }
  return { manifest, cached: false };
}

/** The cached entries; none when the file is missing or damaged (rebuild). */
async function readCache(path: string): Promise<CacheEntry[]> {
  let raw: Partial<CacheFile & CacheEntry>;
  try {
    raw = JSON.parse(await readFile(path, 'utf8')) as Partial<CacheFile & CacheEntry>;
  } catch {
    return [];
  }
  const list: Array<Partial<CacheEntry>> = Array.isArray(raw.entries) ? raw.entries : [raw];
  const entries: CacheEntry[] = [];
  for (const e of list) {
    try {
      if (e.key && e.manifest) entries.push({ key: e.key, manifest: parseManifest(e.manifest) });
    } catch {
      // a damaged entry is dropped; the others stand
    }
  }
  return entries;
}
