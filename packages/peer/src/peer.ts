import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  CascadeError,
  ControlClient,
  parseManifest,
  verifyManifestSignature,
  type CoordinatorMessage,
  type CoordinatorMessageOf,
  type Logger,
  type Manifest,
} from '@cascade/common';
import PQueue from 'p-queue';
import { peerProgress, type PeerProgress } from './progress.js';
import { DigestWorker } from './digest-worker.js';
import { RateMeter } from './rate-meter.js';
import { fetchSlices } from './slice-client.js';
import type { SliceStore } from './slice-store.js';
import { accountTarget } from './target-store.js';
import { openTarget, syncTarget, writeSlice, type OpenedTarget } from './target.js';
import { assertTargetFree } from './target-in-use.js';
import { PeerServing } from './peer-serving.js';
import type { PeerOptions, PeerResult } from './peer-types.js';

export type { PeerOptions, PeerResult, TransferRecord } from './peer-types.js';

/** Requests kept outstanding in relay sessions: each hop of the chain can lag at most this many slices. */
const RELAY_WINDOW = 2;

/**
 * A lab machine's role: wait for an assignment, pull slices, verify each before writing it,
 * report done, then serve others until the session ends.
 */
export class Peer {
  readonly id = randomUUID();
  readonly name: string;
  private readonly log: Logger;
  private control: ControlClient | null = null;
  private manifest: Manifest | null = null;
  private store: SliceStore | null = null;
  private target: OpenedTarget | null = null;
  private activeServer: string | null = null;
  private serverFailures = 0;
  private preparing: Promise<void> | null = null;
  private settle: { resolve: (r: PeerResult) => void; reject: (e: Error) => void } | null = null;
  private readonly writes = new PQueue({ concurrency: 1 });
  private progressTimer: NodeJS.Timeout | null = null;
  private readonly stopper = new AbortController();
  private readonly hasher = new DigestWorker();
  private transfer: Promise<unknown> | null = null;
  private stopReason: string | null = null;
  /** The session streams: serve verified slices while still downloading. */
  private relay = false;
  private readonly result: PeerResult = {
    outcome: 'incomplete',
    sessionEndReason: '',
    imageId: null,
    bytesReceived: 0,
    slicesReceived: 0,
    slicesReused: 0,
    badSlices: 0,
    servers: [],
    startedAt: Date.now(),
    imagedAt: null,
    bytesServed: 0,
    clientsServed: 0,
    transfers: [],
  };
  private readonly meter = new RateMeter(5000);

  private readonly serving: PeerServing;

  constructor(private readonly opts: PeerOptions) {
    this.name = opts.name ?? hostname();
    this.log = opts.logger.child({ component: 'peer' });
    this.serving = new PeerServing({
      ...opts,
      serverId: this.id,
      onClientLeft: () => this.result.clientsServed++,
    });
  }

  /** What happened so far (also after run() rejected: what was fetched before the failure). */
  get summary(): PeerResult {
    return { ...this.result, servers: [...this.result.servers], transfers: [...this.result.transfers] };
  }

  /** The image being written, once the session has told us (null before). */
  get imageId(): string | null {
    return this.result.imageId;
  }

  /** Run until the session ends. Resolves with the result; rejects with a CascadeError. */
  async run(): Promise<PeerResult> {
    await assertTargetFree(this.opts.target, this.opts.force);
    const done = new Promise<PeerResult>((resolve, reject) => (this.settle = { resolve, reject }));
    this.control = new ControlClient({
      url: this.opts.coordinator,
      logger: this.opts.logger,
      hello: { role: 'peer', id: this.id, name: this.name, session: this.opts.session },
      token: this.opts.token,
      ca: this.opts.ca,
      onConnected: () => this.announce(),
      onMessage: (m) => this.onMessage(m),
      onDisconnected: (reason) => {
        if (reason === 'gave-up')
          this.fail(new CascadeError('ERR_COORDINATOR_UNREACHABLE', 'gave up on the coordinator'));
      },
    });
    this.emitProgress('waiting');
    this.log.info(
      { session: this.opts.session, coordinator: this.opts.coordinator, target: this.opts.target },
      'waiting for the session',
    );
    await this.control.start();
    this.progressTimer = setInterval(() => this.reportProgress(), 1000);
    try {
      return await done;
    } finally {
      await this.shutdown();
    }
  }

  /**
   * Graceful stop (SIGINT/SIGTERM): the transfer in flight is abandoned (a slice being written
   * finishes; nothing unverified is ever marked held), the coordinator is told, our clients move
   * on. run() then resolves if the image was already complete, else rejects with ERR_STOPPED.
   */
  async stop(reason = 'stopped'): Promise<void> {
    if (this.stopper.signal.aborted) return;
    this.stopReason = reason;
    this.log.info({ reason, outcome: this.result.outcome }, 'stopping');
    this.stopper.abort();
    await this.transfer?.catch(() => undefined);
    await this.writes.onIdle();
    if (this.result.outcome === 'imaged') {
      this.result.sessionEndReason ||= reason;
      this.finish();
      return;
    }
    const store = this.store;
    const held = store ? `${store.heldSlices} of ${store.count} slices verified and kept` : 'nothing fetched yet';
    this.fail(new CascadeError('ERR_STOPPED', `stopped (${reason}) before the image was complete: ${held}`));
  }

  /** Stop now: tell the coordinator, close the server (clients keep what they verified). */
  async shutdown(): Promise<void> {
    if (this.progressTimer) clearInterval(this.progressTimer);
    this.progressTimer = null;
    this.control?.send({ type: 'leave', reason: this.stopReason ?? this.result.sessionEndReason ?? 'stopping' });
    this.control?.close();
    this.control = null;
    this.result.bytesServed = await this.serving.close();
    await this.writes.onIdle();
    await this.hasher.close();
    await this.target?.fh.close().catch(() => undefined);
    this.target = null;
  }

  private fail(err: CascadeError): void {
    this.settle?.reject(err);
    this.settle = null;
  }

  private finish(): void {
    this.settle?.resolve(this.result);
    this.settle = null;
  }

  /** First connect and every reconnect: say what we hold and what we are doing. */
  private announce(): void {
    const store = this.store;
    if (!store) return; // no session yet: the coordinator sends it when it opens
    if (store.complete) {
      // Holdings first: the coordinator counts a done only from a client it knows (issue 16).
      this.control?.send({ type: 'want', have: store.heldSlices });
      this.control?.send({
        type: 'done',
        server: this.result.servers.at(-1) ?? 'reused',
        bytes: this.result.bytesReceived,
        ms: 0,
      });
      this.offerServe();
      return;
    }
    this.offerServe(); // a relay serves while it downloads
    this.control?.send({
      type: 'want',
      have: store.heldSlices,
      ...(this.activeServer ? { activeServer: this.activeServer } : {}),
    });
  }

  private onMessage(m: CoordinatorMessage): void {
    switch (m.type) {
      case 'session':
        void this.onSession(m);
        return;
      case 'queued':
        this.log.info({ position: m.position }, 'queued');
        this.emitProgress('queued');
        return;
      case 'assign':
        void this.onAssign(m);
        return;
      case 'serving':
        this.serving.ticketKey = m.ticketKey;
        return;
      case 'session-ended':
        this.onSessionEnded(m.reason);
        return;
      case 'error':
        this.log.warn({ code: m.code, reason: m.message }, 'coordinator reported an error');
        if (
          (['ERR_PROTOCOL_VERSION', 'ERR_BAD_CONFIG', 'ERR_AUTH_REQUIRED', 'ERR_AUTH_FAILED'] as string[]).includes(
            m.code,
          )
        )
          this.fail(new CascadeError(m.code as never, m.message));
        return;
      default:
        return;
    }
  }

  private async onSession(m: CoordinatorMessageOf<'session'>): Promise<void> {
    let manifest: Manifest;
    try {
      manifest = parseManifest(m.manifest);
    } catch (err) {
      this.log.error({ err }, 'coordinator sent an invalid manifest; ignoring it');
      return;
    }
    if (this.opts.trust && !this.manifest) {
      try {
        verifyManifestSignature(manifest, this.opts.trust);
      } catch (err) {
        // Nothing was opened or written yet: refuse the image outright.
        this.log.error({ err, imageId: manifest.imageId }, 'manifest refused: not signed by a trusted key');
        this.fail(err as CascadeError);
        return;
      }
    }
    if (this.manifest) {
      if (this.manifest.imageId !== manifest.imageId)
        this.log.warn({ imageId: manifest.imageId }, 'session now offers another image; keeping ours');
      return;
    }
    this.manifest = manifest;
    this.relay = m.options.relay === true;
    this.result.imageId = manifest.imageId;
    this.log.info(
      { image: manifest.name, imageId: manifest.imageId, size: manifest.size, slices: manifest.digests.length },
      'session open',
    );
    this.preparing = this.prepare(manifest).catch((err: unknown) => {
      this.fail(err instanceof CascadeError ? err : new CascadeError('ERR_TARGET_UNUSABLE', String(err)));
    });
    await this.preparing;
  }

  /** Open the target, account for what it already holds, then join the client queue. */
  private async prepare(manifest: Manifest): Promise<void> {
    const target = await openTarget(this.opts.target, manifest, { force: this.opts.force });
    this.target = target;
    const { store, reused } = await accountTarget(target, manifest, {
      reuse: this.opts.reuse ?? false,
      onHashing: () => this.emitProgress('hashing'),
    });
    this.result.slicesReused = reused;
    this.store = store;
    this.log.info({ held: store.heldSlices, missing: store.missing(), reused }, 'target ready');
    if (store.complete) {
      await this.completed();
      return;
    }
    if (this.relay) await this.startServing(true);
    this.announce();
  }

  private async onAssign(m: CoordinatorMessageOf<'assign'>): Promise<void> {
    await this.preparing;
    const store = this.store;
    const manifest = this.manifest;
    if (!store || !manifest || !this.target || !this.settle || this.stopper.signal.aborted) return;
    if (this.activeServer) {
      this.log.warn({ server: m.server.name }, 'assignment while a transfer runs; ignored');
      return;
    }
    this.activeServer = m.server.id;
    this.log.info(
      { server: m.server.name, host: m.server.host, port: m.server.port, missing: store.missing() },
      'assigned',
    );
    this.emitProgress('transferring', m.server.name);
    const started = Date.now();
    const target = this.target;
    const fetching = fetchSlices({
      logger: this.opts.logger,
      manifest,
      server: m.server,
      ticket: m.ticket,
      session: this.opts.session,
      clientId: this.id,
      localAddress: this.localAddress(),
      // In a relay chain a hop can hold back at most `window` slices: keep it small (latency per hop).
      window: this.relay ? Math.min(this.opts.window ?? 8, RELAY_WINDOW) : (this.opts.window ?? 8),
      stallTimeoutMs: this.opts.stallTimeoutMs ?? 30_000,
      next: () => store.next(),
      retry: (i) => store.retry(i),
      onVerified: (i, chunks) =>
        this.writes.add(async () => {
          await writeSlice(target, i * manifest.sliceSize, chunks);
          store.markHeld(i);
          this.countReceived(chunks);
        }),
      signal: this.stopper.signal,
      ...(this.opts.hashThread ? { digest: (a, c) => this.hasher.digest(a, c) } : {}),
    });
    this.transfer = fetching;
    const r = await fetching;
    this.transfer = null;
    this.activeServer = null;
    this.result.badSlices += r.badSlices.length;
    this.result.transfers.push({
      server: m.server.name,
      startedAt: started,
      ms: Date.now() - started,
      slices: r.slices,
      bytes: r.bytes,
      badSlices: r.badSlices.length,
      error: store.complete ? null : (r.error?.code ?? 'ERR_SERVER_LOST'),
    });
    if (this.stopper.signal.aborted) return;
    if (!this.result.servers.includes(m.server.name)) this.result.servers.push(m.server.name);
    if (!this.settle) return;
    if (store.complete) {
      this.log.info({ server: m.server.name, bytes: r.bytes, ms: Date.now() - started }, 'image complete and verified');
      await this.completed(m.server.id, r.bytes, Date.now() - started, r.badSlices.length);
      return;
    }
    const err = r.error ?? new CascadeError('ERR_SERVER_LOST', 'server finished without sending every slice');
    if (err.code === 'ERR_TARGET_UNUSABLE') {
      this.control?.send({ type: 'failed', server: m.server.id, code: err.code, reason: err.message, badSlices: [] });
      this.fail(err);
      return;
    }
    if (err.code !== 'ERR_SERVER_FULL' && ++this.serverFailures > (this.opts.maxServerFailures ?? 20)) {
      this.fail(
        new CascadeError(
          'ERR_VERIFY_FAILED',
          `image could not be completed after ${this.serverFailures} failed transfers: ${err.message}`,
        ),
      );
      return;
    }
    this.control?.send({
      type: 'failed',
      server: m.server.id,
      code: err.code,
      reason: err.message,
      badSlices: r.badSlices,
    });
    this.emitProgress('queued');
  }

  private countReceived(chunks: Buffer[]): void {
    let n = 0;
    for (const c of chunks) n += c.length;
    this.result.bytesReceived += n;
    this.result.slicesReceived++;
    this.meter.add(n);
  }

  /** Whole image verified: flush, report done, and become a server. */
  private async completed(serverId?: string, bytes = 0, ms = 0, badSlices = 0): Promise<void> {
    await this.writes.onIdle();
    await syncTarget(this.target!);
    this.result.outcome = 'imaged';
    this.result.imagedAt = Date.now();
    if (!serverId) this.control?.send({ type: 'want', have: this.store!.heldSlices }); // reused: holdings first
    this.control?.send({ type: 'done', server: serverId ?? 'reused', bytes, ms, ...(badSlices ? { badSlices } : {}) });
    await this.startServing(false);
  }

  /** Serve slices: as a relay while downloading in a relay session, then the whole image. */
  private async startServing(relay: boolean): Promise<void> {
    if (this.opts.capacity <= 0 || this.stopper.signal.aborted) return;
    const capacity = relay ? Math.min(this.opts.capacity, this.opts.relayCapacity ?? 1) : this.opts.capacity;
    const first = !this.serving.started;
    await this.serving.start({ relay, capacity, store: this.store!, manifest: this.manifest!, fh: this.target!.fh });
    if (first && !relay) this.emitProgress('serving');
    this.offerServe();
  }

  private offerServe(): void {
    const offer = this.serving.offer(this.control?.localAddress);
    if (offer) this.control?.send({ type: 'serve', ...offer });
  }

  private localAddress(): string | undefined {
    const h = this.opts.listen.host;
    return h === '0.0.0.0' || h === '::' ? undefined : h;
  }

  private onSessionEnded(reason: string): void {
    this.result.sessionEndReason = reason;
    this.log.info({ reason, outcome: this.result.outcome }, 'session ended');
    if (this.result.outcome !== 'imaged') {
      this.fail(new CascadeError('ERR_INCOMPLETE', `session ended (${reason}) before the image was complete`));
      return;
    }
    this.finish();
  }

  private reportProgress(): void {
    if (!this.store || !this.activeServer) return;
    const p = peerProgress(this.store, 'transferring', this.meter.rate());
    this.control?.send({ type: 'progress', slices: p.slices, bytes: p.bytes, rate: p.rate });
    this.opts.onProgress?.(p);
  }

  private emitProgress(phase: PeerProgress['phase'], server?: string): void {
    this.opts.onProgress?.(peerProgress(this.store, phase, 0, server));
  }
}
