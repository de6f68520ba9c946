import { randomUUID, type KeyObject } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import {
  advertisedHost,
  serveImage,
  CascadeError,
  ControlClient,
  signManifest,
  SliceServer,
  unsignedManifest,
  type CoordinatorMessage,
  type DigestAlgorithm,
  type Logger,
  type Manifest,
  type SessionOptions,
} from '@cascade/common';
import { loadOrBuildManifest } from './manifest-cache.js';

export interface SeederOptions {
  logger: Logger;
  image: string;
  coordinator: string;
  session: string;
  name?: string;
  capacity: number;
  listen: { host: string; port: number };
  /** Address clients should connect to; defaults to the bound address (or the control link's). */
  advertise?: string;
  sessionOptions: SessionOptions;
  sliceSize?: number;
  /** Uplink cap in bytes/s. */
  rate?: number;
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
}

export interface SeederResult {
  reason: string;
  bytesServed: number;
}

/**
 * The seeder: builds (or reuses) the image's manifest, opens the session at the coordinator,
 * and serves slices to `capacity` clients at once until the session ends.
 */
export class Seeder {
  readonly id = randomUUID();
  private readonly log: Logger;
  private manifest: Manifest | null = null;
  private fh: FileHandle | null = null;
  private server: SliceServer | null = null;
  private control: ControlClient | null = null;
  private ticketKey: Uint8Array | null = null;
  private bound: { host: string; port: number } | null = null;
  private finished: ((r: SeederResult) => void) | null = null;
  private failedRun: ((e: Error) => void) | null = null;

  constructor(private readonly opts: SeederOptions) {
    this.log = opts.logger.child({ component: 'seeder' });
  }

  /** Run until the session ends; resolves with why. */
  async run(): Promise<SeederResult> {
    const loaded = await loadOrBuildManifest(this.opts.image, {
      ...(this.opts.sliceSize ? { sliceSize: this.opts.sliceSize } : {}),
      ...(this.opts.digest ? { digest: this.opts.digest } : {}),
      ...(this.opts.onManifestProgress ? { onProgress: this.opts.onManifestProgress } : {}),
      onCacheWriteError: (err) => this.log.warn({ err }, 'could not cache the manifest beside the image'),
    });
    const { cached } = loaded;
    const unsigned = unsignedManifest(loaded.manifest);
    const manifest = this.opts.signKey ? signManifest(unsigned, this.opts.signKey) : unsigned;
    this.manifest = manifest;
    this.log.info(
      {
        image: manifest.name,
        imageId: manifest.imageId,
        size: manifest.size,
        slices: manifest.digests.length,
        digest: manifest.digest,
        signed: manifest.signature !== undefined,
        cached,
      },
      'manifest ready',
    );
    const mtime = (await stat(this.opts.image)).mtimeMs;
    this.fh = await open(this.opts.image, 'r');
    const served = await serveImage({
      logger: this.opts.logger,
      manifest,
      fh: this.fh,
      serverId: this.id,
      session: this.opts.session,
      ticketKey: () => this.ticketKey,
      capacity: this.opts.capacity,
      listen: this.opts.listen,
      rate: this.opts.rate,
      fault: this.opts.fault,
    });
    this.server = served.server;
    this.bound = served.bound;
    served.server.on('client-left', (s: { client: string; bytes: number }, reason: string) =>
      this.log.info({ client: s.client, bytes: s.bytes, reason }, 'client left'),
    );
    this.log.info({ ...served.bound, capacity: this.opts.capacity }, 'serving slices');
    const done = new Promise<SeederResult>((resolve, reject) => {
      this.finished = resolve;
      this.failedRun = reject;
    });
    this.control = new ControlClient({
      url: this.opts.coordinator,
      logger: this.opts.logger,
      hello: {
        role: 'seeder',
        id: this.id,
        name: this.opts.name ?? `seeder@${hostname()}`,
        session: this.opts.session,
      },
      token: this.opts.token,
      ca: this.opts.ca,
      onConnected: () => this.announce(),
      onMessage: (m) => this.onMessage(m),
      onDisconnected: (reason) => {
        if (reason === 'gave-up')
          this.failedRun?.(new CascadeError('ERR_COORDINATOR_UNREACHABLE', 'gave up on the coordinator'));
      },
    });
    await this.control.start();
    const watch = setInterval(() => void this.checkImageUnchanged(mtime), 5000);
    try {
      return await done;
    } finally {
      clearInterval(watch);
      await this.stop();
    }
  }

  async stop(): Promise<void> {
    this.control?.close();
    await this.server?.close();
    await this.fh?.close().catch(() => undefined);
    this.fh = null;
  }

  /** First connect and every reconnect: (re)open the session and offer our slots. */
  private announce(): void {
    const m = this.manifest!;
    this.control!.send({ type: 'open-session', manifest: { ...m }, options: this.opts.sessionOptions });
    this.control!.send({
      type: 'serve',
      host: this.advertisedHost(),
      port: this.bound!.port,
      capacity: this.opts.capacity,
    });
  }

  private advertisedHost(): string {
    return advertisedHost(this.bound!.host, this.opts.advertise, this.control?.localAddress);
  }

  private onMessage(m: CoordinatorMessage): void {
    switch (m.type) {
      case 'serving':
        this.ticketKey = m.ticketKey;
        break;
      case 'session-ended':
        this.log.info({ session: m.session, reason: m.reason, bytesServed: this.server?.bytesServed }, 'session ended');
        this.finished?.({ reason: m.reason, bytesServed: this.server?.bytesServed ?? 0 });
        break;
      case 'error':
        this.log.error({ code: m.code, reason: m.message }, 'coordinator reported an error');
        if (
          (['ERR_SESSION_EXISTS', 'ERR_PROTOCOL_VERSION', 'ERR_AUTH_REQUIRED', 'ERR_AUTH_FAILED'] as string[]).includes(
            m.code,
          )
        ) {
          this.failedRun?.(new CascadeError(m.code as never, m.message));
        }
        break;
      default:
        break;
    }
  }

  private async checkImageUnchanged(mtime: number): Promise<void> {
    try {
      const now = (await stat(this.opts.image)).mtimeMs;
      if (now !== mtime) {
        this.failedRun?.(
          new CascadeError(
            'ERR_IMAGE_CHANGED',
            `image ${this.opts.image} changed while being served; restart the seeder to publish the new version`,
          ),
        );
      }
    } catch (err) {
      this.failedRun?.(new CascadeError('ERR_IMAGE_UNREADABLE', `image ${this.opts.image} is gone`, { cause: err }));
    }
  }
}
