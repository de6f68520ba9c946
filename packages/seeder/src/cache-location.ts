import { createHash } from 'node:crypto';
import { basename, join, resolve } from 'node:path';

/**
 * Where the manifest cache of an image lives. Without a cache folder: beside the image
 * (`IMAGE.cascade-manifest.json`), as before. With one (`--cache-dir`, e.g. the systemd unit's
 * CacheDirectory, for an image folder the seeder may not write): in that folder, named after the
 * image and a short hash of its absolute path, so two images of one name never share an entry.
 */
export function manifestCacheFile(imagePath: string, cacheDir?: string): string {
  if (!cacheDir) return `${imagePath}.cascade-manifest.json`;
  const tag = createHash('sha256').update(resolve(imagePath)).digest('hex').slice(0, 12);
  return join(cacheDir, `${basename(imagePath)}-${tag}.cascade-manifest.json`);
}
