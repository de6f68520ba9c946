/**
 * What `cascade manifest` says about an image's sizes: image bytes, used bytes, the payload of
 * its non-zero slices, and their wire bytes once compressed — the compressed cache built here,
 * on a thread per core with a progress bar, as `cascade seed` would build it ahead of the stream.
 */
import { CompressPool, formatBytes, usedMap, wireBytes, type Manifest } from '@cascade/common';
import { ProgressDisplay } from '../progress-display.js';

export interface ImageSizes {
  /** The image's size. */
  image: number;
  /** Bytes its filesystems use (the size without a used map). */
  used: number;
  /** Used bytes of its non-zero slices: what would be sent uncompressed. */
  payload: number;
  /** What the whole image takes on the wire (payload with --compress 0). */
  wire: number;
  /** payload ÷ wire (1 with --compress 0). */
  ratio: number;
  /** The zstd level (0: not compressed). */
  compress: number;
  /** Seconds the compressed cache took to build here (0: it was already built). */
  buildSeconds: number;
}

/** Build (or reuse) the compressed cache of `manifest` at `level` and measure the image's sizes. */
export async function imageSizes(
  image: string,
  manifest: Manifest,
  o: { level: number; cacheDir?: string | undefined },
): Promise<ImageSizes> {
  const payload = wireBytes(manifest);
  const base = { image: manifest.size, used: usedMap(manifest)?.usedBytes ?? manifest.size, payload };
  if (o.level === 0) return { ...base, wire: payload, ratio: 1, compress: 0, buildSeconds: 0 };
  const { manifestCacheFile, WireCache } = await import('@cascade/seeder');
  const pool = new CompressPool();
  const display = await ProgressDisplay.open();
  const started = process.hrtime.bigint();
  let built = false;
  try {
    const cache = await WireCache.open(manifestCacheFile(image, o.cacheDir), image, manifest, {
      level: o.level,
      compress: pool.compress,
      parallel: pool.size,
    });
    try {
      await cache.fill((done, total) => {
        built = true;
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        display.update({ phase: 'compressing', done, total, rate: ((done / total) * payload) / seconds });
      });
      const wire = cache.wireBytes();
      const buildSeconds = built ? Number(process.hrtime.bigint() - started) / 1e9 : 0;
      const ratio = wire > 0 ? Math.round((payload / wire) * 1000) / 1000 : 1;
      return { ...base, wire, ratio, compress: o.level, buildSeconds: Math.round(buildSeconds * 1000) / 1000 };
    } finally {
      await cache.close();
    }
  } finally {
    display.stop();
    await pool.close();
  }
}

/** The sizes as `cascade manifest` prints them, one line each. */
export function sizeLines(s: ImageSizes): string[] {
  const how = s.compress === 0 ? 'not compressed: --compress 0' : `zstd -${s.compress}`;
  const built = s.buildSeconds > 0 ? `, cache built in ${s.buildSeconds.toFixed(1)} s (${rateOf(s)})` : '';
  return [
    `payload   ${formatBytes(s.payload)} (the used bytes of the non-zero slices)`,
    `on wire   ${formatBytes(s.wire)} (${how}${built})`,
    `ratio     ${s.ratio.toFixed(2)}× (payload ÷ wire)`,
  ];
}

function rateOf(s: ImageSizes): string {
  return `${(s.payload / s.buildSeconds / 1e6).toFixed(0)} MB/s of payload`;
}
