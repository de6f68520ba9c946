import type { FileHandle } from 'node:fs/promises';
import { open, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import {
  CompressPool,
  controlClientFactory,
  ZSTD_DEFAULT_LEVEL,
  DEFAULT_DIGEST,
  DigestPool,
  serveImage,
  signManifest,
  unsignedManifest,
  type ControlFactory,
  type CascadeError,
  type Logger,
  type Manifest,
} from '@cascade/common';
import { manifestCacheFile } from './cache-location.js';
import { loadOrBuildManifest } from './manifest-cache.js';
import { WireCache } from './wire-cache.js';
import type { SeederOptions } from './seeder.js';

/** What the seeder's slice server must offer it. */
export interface SeederServer {
  readonly bytesServed: number;
  /** The image's wire size as far as known (compressed slices; the rest whole), when it goes compressed. */
  wireBytes?: () => number;
  close(): Promise<void>;
}

/** Everything a seeder talks to, injected: libp2p's (components, init) shape. */
export interface SeederComponents {
  logger: Logger;
  control: ControlFactory;
  /** The image's manifest (from the cache beside it, or built), signed when a key is given. */
  manifest(): Promise<{ manifest: Manifest; cached: boolean }>;
  image: { open(): Promise<FileHandle | undefined>; mtime(): Promise<number> };
  serve(o: {
    manifest: Manifest;
    fh: FileHandle | undefined;
    ticketKey: () => Uint8Array | null;
    /** The image no longer matches its manifest (a slice read failed its digest). */
    onImageChanged: (err: CascadeError) => void;
    /** The rate floor dropped this client (ERR_CLIENT_TOO_SLOW): the coordinator frees its slot. */
    onClientDropped?: (client: string) => void;
  }): Promise<{ server: SeederServer; bound: { host: string; port: number } }>;
  /** Call `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

/** The image's manifest from the cache (or built), signed when a key is given. */
async function seederManifest(opts: SeederOptions, log: Logger): Promise<{ manifest: Manifest; cached: boolean }> {
  // Building reads the whole image once: hash its slices on the pool's threads (started only then).
  const pool = new DigestPool(opts.hashWorkers);
  const loaded = await loadOrBuildManifest(opts.image, {
    hash: pool.digest,
    hashers: pool.slicesAtOnce(opts.digest ?? DEFAULT_DIGEST),
    wholeDisk: opts.wholeDisk === true,
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}), // the error names the file it could not write
    ...(opts.sliceSize ? { sliceSize: opts.sliceSize } : {}),
    ...(opts.digest ? { digest: opts.digest } : {}),
    ...(opts.onManifestProgress ? { onProgress: opts.onManifestProgress } : {}),
    onCacheWriteError: (err) => log.warn({ err }, 'could not cache the manifest beside the image'),
    logger: log,
  }).finally(() => pool.close());
  const unsigned = unsignedManifest(loaded.manifest);
  const manifest = opts.signKey ? signManifest(unsigned, opts.signKey) : unsigned;
  return { manifest, cached: loaded.cached };
}

/** The slice server over the open image; a block device (or --verify-reads) checks every read. */
async function serveSeederImage(
  opts: SeederOptions,
  id: string,
  log: Logger,
  { manifest, fh, ticketKey, onImageChanged, onClientDropped }: Parameters<SeederComponents['serve']>[0],
): ReturnType<SeederComponents['serve']> {
  if (!fh) throw new Error('the image is not open');
  // A block device's content changes without its mtime: check every slice before it is sent.
  const verify = opts.verifyReads === true || (await stat(opts.image)).isBlockDevice();
  const hasher = verify ? new DigestPool(opts.hashWorkers) : null;
  if (hasher) log.info({ image: opts.image }, 'checking every slice read against its manifest digest');
  const pool = new CompressPool(); // its threads start on first use: none with --compress 0
  const wire = await compressedSlices(opts, manifest, log, pool);
  const served = await serveImage({
    logger: opts.logger,
    manifest,
    fh,
    serverId: id,
    session: opts.session,
    ticketKey,
    capacity: seederCapacity(opts),
    listen: opts.listen,
    rate: opts.rate,
    fault: opts.fault,
    verify: hasher ? { hash: hasher.digest, onChanged: onImageChanged } : undefined,
    compressed: wire ? (i) => wire.read(i) : undefined,
  });
  served.server.on('client-left', (s: { client: string; bytes: number }, reason: string) => {
    log.info({ client: s.client, bytes: s.bytes, reason }, 'client left');
    if (reason === 'ERR_CLIENT_TOO_SLOW') onClientDropped?.(s.client);
  });
  const server: SeederServer = {
    get bytesServed() {
      return served.server.bytesServed;
    },
    ...(wire ? { wireBytes: () => wire.wireBytes() } : {}),
    close: async () => {
      await served.server.close();
      await hasher?.close();
      await wire?.close();
      await pool.close();
    },
  };
  return { server, bound: served.bound };
}

/**
 * The image's slices compressed once (zstd at `--compress`, default ZSTD_DEFAULT_LEVEL) on a
 * thread per core (CompressPool), ahead of the stream, kept beside the manifest cache for the next run; null with `--compress 0`.
 */
async function compressedSlices(
  opts: SeederOptions,
  manifest: Manifest,
  log: Logger,
  pool: CompressPool,
): Promise<WireCache | null> {
  const level = opts.compressLevel ?? ZSTD_DEFAULT_LEVEL;
  if (level === 0) return null;
  return WireCache.open(manifestCacheFile(opts.image, opts.cacheDir), opts.image, manifest, {
    level,
    compress: pool.compress,
    parallel: pool.size,
    logger: log,
  });
}

/** The parts a real seeder runs with. */
/** Clients a seeder serves at once: the explicit `capacity`, else 1 for a relay session, else 2. */
export function seederCapacity(opts: Pick<SeederOptions, 'capacity' | 'sessionOptions'>): number {
  return opts.capacity ?? (opts.sessionOptions.relay === true ? 1 : 2);
}

export function defaultSeederComponents(opts: SeederOptions, id: string): SeederComponents {
  const log = opts.logger.child({ component: 'seeder' });
  return {
    logger: opts.logger,
    control: controlClientFactory({
      url: opts.coordinator,
      logger: opts.logger,
      hello: { role: 'seeder', id, name: opts.name ?? `seeder@${hostname()}`, session: opts.session },
      token: opts.token,
      ca: opts.ca,
    }),
    manifest: () => seederManifest(opts, log),
    image: { open: () => open(opts.image, 'r'), mtime: async () => (await stat(opts.image)).mtimeMs },
    serve: (o) => serveSeederImage(opts, id, log, o),
    every: (ms, fn) => {
      const t = setInterval(fn, ms);
      return () => clearInterval(t);
    },
  };
}
