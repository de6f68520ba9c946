import { randomUUID, type KeyObject } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import {
  advertisedEndpoint,
  CascadeError,
  isCascadeError,
  RoleSkeleton,
  toCascadeError,
  type CoordinatorMessage,
  type DigestAlgorithm,
  type Logger,
  type Manifest,
  type SessionOptions,
} from '@cascade/common';
import {
  defaultSeederComponents,
  seederCapacity,
  type SeederComponents,
  type SeederServer,
} from './seeder-components.js';

export interface SeederOptions {
  logger: Logger;
  image: string;
  coordinator: string;
  session: string;
  name?: string;
  /**
   * Clients served at once. Default (seederCapacity): 1 in a relay session — one full-rate
   * chain, since each further client would halve every chain's rate — and 2 otherwise.
   */
  capacity?: number;
  listen: { host: string; port: number };
  /** Address clients should connect to; defaults to the bound address (or the control link's). */
  advertise?: string;
  sessionOptions: SessionOptions;
  sliceSize?: number;
  /** Uplink cap in bytes/s. */
  rate?: number;
  /**
   * Check every slice read against the manifest before sending it (always on for a block
   * device, whose content can change without its mtime); a mismatch ends the seeder with
   * ERR_IMAGE_CHANGED.
   */
  verifyReads?: boolean;
  /** Send every byte, not only those the image's filesystems use (`--whole-disk`). */
  wholeDisk?: boolean;
  /** zstd level the slices are compressed at once, before serving (0: sent as they are). */
  compressLevel?: number;
  /** Threads hashing slices for verify-on-read (default: one per core, at most 4; 0: inline). */
  hashWorkers?: number;
  /** Fault injection for drills and tests. */
  fault?: { every?: number; once?: number[] };
  onManifestProgress?: (done: number, total: number) => void;
  /** Per-slice digest algorithm (default md5). */
  digest?: DigestAlgorithm | undefined;
  /** Sign the manifest with this Ed25519 key (peers with --trust check it). */
  signKey?: KeyObject | undefined;
  /** Session token for the coordinator's challenge; CA for a wss:// coordinator. */
  token?: Uint8Array | undefined;
  ca?: Buffer | string | undefined;
  /** Keep the manifest cache in this folder instead of beside the image (`--cache-dir`). */
  cacheDir?: string | undefined;
  /** How long stop() waits for the coordinator to confirm the session ended (default 3 s). */
  stopWaitMs?: number;
}

export interface SeederResult {
  reason: string;
  bytesServed: number;
  /** The ended session's report (summary, roster) when the coordinator sent one with session-ended. */
  report?: unknown;
}

/** manifest (reading or building it) → serving (until the session ends) → ended, or failed. */
export type SeederPhase = 'manifest' | 'serving' | 'ended' | 'failed';

/**
 * The seeder: builds (or reuses) the image's manifest, opens the session at the coordinator,
 * and serves slices to `capacity` clients at once until the session ends. A phase machine over
 * injected parts (seeder-components.ts) on the shared RoleSkeleton.
 */
export class Seeder {
  readonly id = randomUUID();
  private readonly c: SeederComponents;
  private readonly role: RoleSkeleton<SeederResult>;
  private readonly log: Logger;
  private phaseNow: SeederPhase = 'manifest';
  private manifest: Manifest | null = null;
  private fh: FileHandle | undefined;
  private server: SeederServer | null = null;
  private ticketKey: Uint8Array | null = null;
  private bound: { host: string; port: number } | null = null;
  private stopWatch: (() => void) | null = null;
  private closing: Promise<void> | null = null;
  /** Why serving stopped, told to the coordinator in `leave` (the image changed or is gone). */
  private failure: CascadeError | null = null;
  /** stop() waiting for the coordinator's session-ended. */
  private onEnded: (() => void) | null = null;
  /**
   * The coordinator said the session started: re-opened as started after a coordinator restart,
   * so the restarted coordinator runs it on instead of gating it again.
   */
  private started = false;

  private readonly opts: SeederOptions & { capacity: number };

  constructor(opts: SeederOptions, components?: SeederComponents) {
    this.opts = { ...opts, capacity: seederCapacity(opts) };
    this.c = components ?? defaultSeederComponents(this.opts, this.id);
    this.log = this.c.logger.child({ component: 'seeder' });
    this.role = new RoleSkeleton<SeederResult>({
      logger: this.log,
      control: this.c.control,
      onConnected: () => this.announce(),
      onMessage: (m) => this.onMessage(m),
    });
  }

  get phase(): SeederPhase {
    return this.phaseNow;
  }

  /** Run until the session ends; resolves with why. */
  async run(): Promise<SeederResult> {
    try {
      const r = await this.role.run(() =>
        this.startup().catch((err: unknown) => {
          throw toCascadeError(err, 'ERR_IMAGE_UNREADABLE');
        }),
      );
      this.phaseNow = 'ended';
      return r;
    } catch (err) {
      this.phaseNow = 'failed';
      if (isCascadeError(err, 'ERR_IMAGE_CHANGED') || isCascadeError(err, 'ERR_IMAGE_UNREADABLE')) this.failure = err;
      throw err;
    } finally {
      await this.shutdown();
    }
  }

  /**
   * Stop (SIGINT/SIGTERM): tell the coordinator (`leave`, 'seeder stopped': the session this
   * seeder opened ends), wait briefly for it to confirm, stop serving. run() resolves with the
   * session's end (or reason 'seeder stopped'). Never rejects.
   */
  async stop(reason = 'seeder stopped'): Promise<void> {
    if (!this.role.ended && this.role.send({ type: 'leave', reason })) {
      const ms = this.opts.stopWaitMs ?? 3000;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        this.onEnded = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.role.finish({ reason, bytesServed: this.server?.bytesServed ?? 0 });
    await this.shutdown();
  }

  /** The manifest, the image open, the slice server listening: then the coordinator hears of us. */
  private async startup(): Promise<void> {
    const { manifest, cached } = await this.c.manifest();
    this.manifest = manifest;
    const { name, imageId, size, digest } = manifest;
    const slices = manifest.digests.length;
    const signed = manifest.signature !== undefined;
    this.log.info({ image: name, imageId, size, slices, digest, signed, cached }, 'manifest ready');
    if (this.role.ended) return;
    const mtime = await this.c.image.mtime();
    this.fh = await this.c.image.open();
    const served = await this.c.serve({
      manifest,
      fh: this.fh,
      ticketKey: () => this.ticketKey,
      onImageChanged: (err) => this.role.post('image-changed', () => this.imageChanged(err)),
      onClientDropped: (client) => this.role.send({ type: 'dropped', client, code: 'ERR_CLIENT_TOO_SLOW' }),
    });
    this.server = served.server;
    this.bound = served.bound;
    this.log.info({ ...served.bound, capacity: this.opts.capacity }, 'serving slices');
    this.phaseNow = 'serving';
    this.stopWatch = this.c.every(5000, () => this.role.post('image-check', () => this.checkImageUnchanged(mtime)));
  }

  private shutdown(): Promise<void> {
    this.closing ??= (async () => {
      this.stopWatch?.();
      const why = this.failure;
      await this.role.close(why ? { type: 'leave', reason: `${why.code}: ${why.message}`.slice(0, 1024) } : undefined);
      await this.role.idle();
      await this.server?.close();
      await this.fh?.close().catch(() => undefined);
      this.fh = undefined;
    })();
    return this.closing;
  }

  /** First connect and every reconnect: (re)open the session and offer our slots. */
  private announce(): void {
    const m = this.manifest;
    const bound = this.bound;
    if (!m || !bound) return;
    const started = this.started ? { started: true } : {};
    const wireBytes = this.server?.wireBytes?.();
    const wire = wireBytes === undefined ? {} : { wireBytes };
    this.role.send({
      type: 'open-session',
      manifest: { ...m },
      options: this.opts.sessionOptions,
      ...started,
      ...wire,
    });
    const { host, port } = advertisedEndpoint(bound, this.opts.advertise, this.role.control?.localAddress);
    this.role.send({ type: 'serve', host, port, capacity: this.opts.capacity });
  }

  private onMessage(m: CoordinatorMessage): void {
    if (m.type === 'serving') this.ticketKey = m.ticketKey;
    if (m.type === 'ack' && m.of === 'session-started' && !this.started) {
      this.started = true;
      this.log.info({ session: m.session }, 'session started');
    }
    if (m.type !== 'session-ended') return;
    const bytesServed = this.server?.bytesServed ?? 0;
    this.log.info({ session: m.session, reason: m.reason, bytesServed }, 'session ended');
    // A coordinator that sends the session's report with its end (roster and summary) has it in `report`.
    const report = (m as { report?: unknown }).report;
    this.role.finish({ reason: m.reason, bytesServed, ...(report !== undefined ? { report } : {}) });
    this.onEnded?.();
  }

  /** A slice read failed its digest: the image is no longer the one this session distributes. */
  private imageChanged(err: CascadeError): never {
    this.log.error(
      { code: err.code, image: this.opts.image, ...err.details },
      'the image changed under the seeder: stopped serving it',
    );
    throw err;
  }

  private async checkImageUnchanged(mtime: number): Promise<void> {
    let now: number;
    try {
      now = await this.c.image.mtime();
    } catch (err) {
      throw new CascadeError('ERR_IMAGE_UNREADABLE', `image ${this.opts.image} is gone`, { cause: err });
    }
    if (now !== mtime)
      throw new CascadeError(
        'ERR_IMAGE_CHANGED',
        `image ${this.opts.image} changed while being served; restart the seeder to publish the new version`,
      );
  }
}
