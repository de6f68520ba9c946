/**
 * session/ — the peer's lifecycle. The Peer role (this file) owns the one state (peer-state.ts,
 * with the transition table) and every decision taken from it: what to tell the coordinator
 * (session-messages.ts), when to fetch and what a transfer's end means (transfer.ts,
 * transfer-moves.ts, transfer-verdict.ts), the run's result (peer-result.ts) and progress. It owns
 * no socket and no file: those are parts injected through components.ts (fetch/, serve/, target/).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  CascadeError,
  RoleSkeleton,
  toCascadeError,
  type CoordinatorMessage,
  type CoordinatorMessageOf,
  type Logger,
  type Manifest,
} from '@cascade/common';
import PQueue from 'p-queue';
import { defaultPeerComponents, type PeerComponents, type PeerTarget } from './components.js';
import { countReceived, emptyPeerResult, recordTransfer, type PeerResult } from './peer-result.js';
import type { PeerOptions } from './peer-options.js';
import {
  imaged,
  manifestOf,
  targetOf,
  transition,
  type PeerEvent,
  type PeerPhase,
  type PeerState,
} from './peer-state.js';
import { peerProgress, peerTraffic, type PeerProgress } from './progress.js';
import { acceptSession, droppedReport, leaveMessage, stoppedMessage } from './session-messages.js';
import { TransferMoves } from './transfer-moves.js';
import { runTransfer } from './transfer.js';
import { PROGRESS_REPORT_MS, RateMeter } from './rate-meter.js';
import type { SliceFetchResult } from '../fetch/slice-client.js';
import type { SliceStore } from '../slices/slice-store.js';
import { BadServerBudget, backoffMs, failedReport, verdictOf, verifyFailed } from './transfer-verdict.js';

/** A target refused before joining: time given to tell the coordinator (the roster) before exiting. */
const STARTUP_FAULT_REPORT_MS = 10_000;

/**
 * A lab machine's role: wait for an assignment, pull slices, verify each before writing it,
 * report done, then serve others until the session ends. A phase machine (peer-state.ts: one
 * state, one transition table; every handler decides from the phase) over injected parts
 * (components.ts): every coordinator message and every transfer's end runs in the role's one
 * event loop (RoleSkeleton); nothing it does can escape as an unhandled rejection.
 */
export class Peer {
  readonly id = randomUUID();
  readonly name: string;
  private readonly c: PeerComponents;
  private readonly role: RoleSkeleton<PeerResult>;
  private readonly log: Logger;
  private state: PeerState = { phase: 'connecting' };
  /** The last transfer's end (it never rejects): stop() and shutdown() wait for it. */
  private transferEnd: Promise<void> = Promise.resolve();
  /** Failed transfers in a row (for the backoff), and transfers ended by bad slices, per server. */
  private readonly tally = { streak: 0, bad: new BadServerBudget() };
  private readonly writes = new PQueue({ concurrency: 1 });
  private readonly stopper = new AbortController();
  private stopTicker: () => void = () => undefined;
  private readonly meter = new RateMeter(1000); // bytes received over the last second (routing)
  private readonly moves = new TransferMoves();
  private readonly result: PeerResult = emptyPeerResult(Date.now());

  constructor(
    private readonly opts: PeerOptions,
    components?: PeerComponents,
  ) {
    this.name = opts.name ?? hostname();
    const me = { id: this.id, name: this.name, onClientLeft: this.clientLeft.bind(this) };
    this.c = components ?? defaultPeerComponents(opts, me);
    this.log = this.c.logger.child({ component: 'peer' });
    this.role = new RoleSkeleton<PeerResult>({
      logger: this.log,
      control: this.c.control,
      onConnected: () => this.announce(),
      onMessage: (m) => this.onMessage(m),
    });
  }

  get phase(): PeerPhase {
    return this.state.phase;
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
    this.emitProgress('waiting');
    this.log.info(
      { session: this.opts.session, coordinator: this.opts.coordinator, target: this.opts.target },
      'waiting for the session',
    );
    let ok = false;
    try {
      const r = await this.role.run(() => this.startup());
      ok = true;
      return r;
    } catch (err) {
      // Imaged, then the coordinator was gone for good: the machine is still imaged.
      if (imaged(this.state) && toCascadeError(err, 'ERR_INTERNAL').code === 'ERR_COORDINATOR_UNREACHABLE') {
        this.result.sessionEndReason ||= 'coordinator unreachable';
        ok = true;
        return this.result;
      }
      throw err;
    } finally {
      this.to({ type: 'ended', ok });
      await this.shutdown();
    }
  }

  /**
   * Graceful stop (SIGINT/SIGTERM), in any phase: the transfer in flight is abandoned (a slice
   * being written finishes; nothing unverified is ever marked held), the coordinator is told, our
   * clients move on. run() then resolves if the image was already complete, else rejects with
   * ERR_STOPPED. Never rejects.
   */
  async stop(reason = 'stopped'): Promise<void> {
    const phase = this.state.phase;
    const s = this.to({ type: 'stop', reason });
    if (s?.phase !== 'stopping') return;
    this.log.info({ reason, outcome: this.result.outcome, phase }, 'stopping');
    this.stopper.abort();
    await this.transferEnd;
    await this.writes.onIdle().catch(() => undefined);
    if (imaged(s)) {
      this.result.sessionEndReason ||= reason;
      this.role.finish(this.result);
      return;
    }
    this.role.fail(new CascadeError('ERR_STOPPED', stoppedMessage(reason, targetOf(s)?.store)));
  }

  /** Before contacting the coordinator: the target is ours to write, the serving port is ours. */
  private async startup(): Promise<void> {
    try {
      await this.c.target.checkFree();
    } catch (err) {
      const e = toCascadeError(err, 'ERR_TARGET_UNUSABLE');
      if (e.code !== 'ERR_TARGET_UNUSABLE' && e.code !== 'ERR_TARGET_IN_USE') throw e;
      this.refusedAtStartup(e);
      return;
    }
    if (this.opts.capacity > 0) await this.c.serving.bind();
    this.stopTicker = this.c.clock.every(PROGRESS_REPORT_MS, () => this.reportProgress());
  }

  /**
   * Our own target is unusable before we joined: connect anyway so the session's roster lists this
   * machine as failed with the reason (announce() ends the run), but end within a bound when the
   * coordinator cannot be reached.
   */
  private refusedAtStartup(err: CascadeError): void {
    this.to({ type: 'refused', error: err });
    this.log.error({ code: err.code, reason: err.message }, 'target refused; telling the coordinator, then exiting');
    const end = (): void => this.role.fail(err);
    this.c.clock.sleep(STARTUP_FAULT_REPORT_MS, this.stopper.signal).then(end, end);
  }

  /** After run() settles: tell the coordinator, close the server (clients keep what they verified). */
  private async shutdown(): Promise<void> {
    const s = this.state;
    if (s.phase !== 'finished' && s.phase !== 'failed') return;
    this.stopTicker();
    this.stopper.abort();
    await this.transferEnd;
    await this.role.close(leaveMessage(this.role.outcome, s.stopReason, this.result.sessionEndReason));
    await this.role.idle();
    this.result.bytesServed = await this.c.serving.close();
    await this.writes.onIdle().catch(() => undefined);
    await this.c.release?.();
    await s.target?.close();
  }

  /** Apply an event to the state (peer-state.ts); the new state, or null when the phase does not take it. */
  private to(e: PeerEvent): PeerState | null {
    const next = transition(this.state, e);
    if (next) this.state = next;
    return next;
  }

  /** First connect and every reconnect: say what we hold and what we are doing. */
  private announce(): void {
    const s = this.state;
    switch (s.phase) {
      case 'refused':
        this.role.fail(s.error); // connected: the leave that follows carries its code
        return;
      case 'waiting':
      case 'fetching':
      case 'serving':
        return this.announceHoldings(s.target.store, s.phase === 'fetching' ? s.server.id : null);
      default:
        return; // no session yet (the coordinator sends it when it opens), or on the way out
    }
  }

  private announceHoldings(store: SliceStore, activeServer: string | null): void {
    if (store.complete) {
      // Holdings first: the coordinator counts a done only from a client it knows (issue 16).
      this.role.send({ type: 'want', have: store.heldSlices });
      const server = this.result.servers.at(-1) ?? 'reused';
      this.role.send({ type: 'done', server, bytes: this.result.bytesReceived, ms: 0 });
      this.offerServe();
      return;
    }
    this.offerServe(); // a relay serves while it downloads
    this.role.send({ type: 'want', have: store.heldSlices, ...(activeServer ? { activeServer } : {}) });
  }

  private async onMessage(m: CoordinatorMessage): Promise<void> {
    switch (m.type) {
      case 'session':
        return this.onSession(m);
      case 'queued':
        this.log.info({ position: m.position }, 'queued');
        this.emitProgress('queued');
        return;
      case 'assign':
        return this.onAssign(m);
      case 'serving':
        this.c.serving.ticketKey = m.ticketKey;
        return;
      case 'session-ended':
        return this.onSessionEnded(m.reason);
      default:
        return;
    }
  }

  private async onSession(m: CoordinatorMessageOf<'session'>): Promise<void> {
    const s = this.state;
    const accepted = acceptSession(m, s.phase === 'connecting' ? null : manifestOf(s), this.opts.trust, this.log);
    if (!accepted || !this.to({ type: 'session', ...accepted })) return;
    this.result.imageId = accepted.manifest.imageId;
    await this.prepare(accepted.manifest, accepted.relay);
  }

  /** Open the target, account for what it already holds, then join the client queue. */
  private async prepare(manifest: Manifest, relay: boolean): Promise<void> {
    let target: PeerTarget;
    try {
      target = await this.c.target.open(manifest, () => this.emitProgress('hashing'));
    } catch (err) {
      throw toCascadeError(err, 'ERR_TARGET_UNUSABLE');
    }
    if (!this.to({ type: 'target-ready', target })) return void (await target.close()); // stopped meanwhile
    this.result.slicesReused = target.reused;
    const store = target.store;
    this.log.info({ held: store.heldSlices, missing: store.missing(), reused: target.reused }, 'target ready');
    if (store.complete) return this.completed();
    if (relay) await this.startServing(true, manifest, target);
    this.announce(); // offers the relay's slots too
  }

  private onAssign(m: CoordinatorMessageOf<'assign'>): void {
    const s = this.state;
    if (s.phase === 'fetching') {
      if (m.move && this.moves.request(m)) this.log.info({ server: m.server.name }, 'moving to another server');
      else this.log.warn({ server: m.server.name }, 'assignment while a transfer runs; ignored');
      return;
    }
    if (s.phase !== 'waiting' || !this.to({ type: 'assigned', server: m.server })) return;
    const { name, host, port } = m.server;
    this.log.info({ server: name, host, port, missing: s.target.store.missing() }, 'assigned');
    this.emitProgress('transferring', name);
    const transfer = this.fetchFrom(m, s.target, s.manifest, s.relay);
    this.role.watch('transfer', transfer); // a rejection ends the role…
    this.transferEnd = transfer.catch(() => undefined); // …so stop() and shutdown() only wait for it
  }

  /** One transfer, in the background (transfer.ts); its end is an event in the loop. */
  private async fetchFrom(
    m: CoordinatorMessageOf<'assign'>,
    target: PeerTarget,
    manifest: Manifest,
    relay: boolean,
  ): Promise<void> {
    const init = {
      parts: this.c,
      opts: this.opts,
      clientId: this.id,
      signal: this.moves.begin(this.stopper.signal),
      backoffMs: backoffMs(this.tally.streak),
      onVerified: (i: number, chunks: Buffer[]) => this.writes.add(() => this.write(target, i, chunks)),
      onReceived: (n: number) => this.meter.add(n),
    };
    const { r, started } = await runTransfer(init, m, target, manifest, relay);
    const ms = this.c.clock.now() - started;
    const complete = target.store.complete;
    recordTransfer(this.result, { server: m.server.name, startedAt: started, ms, complete }, r);
    this.role.post('transfer-ended', () => this.onTransferEnded(m, r, ms));
  }

  private async write(target: PeerTarget, index: number, chunks: Buffer[]): Promise<void> {
    await target.write(index, chunks);
    target.store.markHeld(index);
    countReceived(this.result, chunks);
  }

  private async onTransferEnded(m: CoordinatorMessageOf<'assign'>, r: SliceFetchResult, ms: number): Promise<void> {
    const next = this.moves.end();
    const s = this.state;
    if (s.phase !== 'fetching') return; // stopped meanwhile
    this.to({ type: 'transfer-ended' });
    if (!this.result.servers.includes(m.server.name)) this.result.servers.push(m.server.name);
    if (s.target.store.complete) {
      this.tally.streak = 0;
      this.log.info({ server: m.server.name, bytes: r.bytes, ms }, 'image complete and verified');
      return this.completed(m.server.id, r.bytes, ms, r.badSlices.length);
    }
    const err = r.error ?? new CascadeError('ERR_SERVER_LOST', 'server finished without sending every slice');
    // Moved: not a failure (the coordinator already rebound us), unless our own target failed.
    if (next && verdictOf(err) !== 'local') return this.onAssign(next);
    this.transferFailed(m.server.id, err, r);
  }

  private clientLeft(client: string, reason: string): void {
    if (++this.result.clientsServed && reason === 'ERR_CLIENT_TOO_SLOW') this.role.send(droppedReport(client));
  }

  /** Report a failed transfer as what it was; only the peer's own faults and unverifiable images end it. */
  private transferFailed(server: string, err: CascadeError, r: SliceFetchResult): void {
    const verdict = verdictOf(err);
    if (verdict === 'stopped') return;
    this.role.send(failedReport(server, err, r.badSlices));
    if (verdict === 'local') throw err;
    const bad = verdict === 'bad-server' ? this.tally.bad.count(server) : 0;
    if (bad > (this.opts.maxServerFailures ?? 20)) throw verifyFailed(bad, err);
    this.tally.streak = r.slices > 0 ? 1 : this.tally.streak + 1;
    this.emitProgress('queued');
  }

  /** Whole image verified (waiting or fetching): flush, report done, and become a server. */
  private async completed(serverId?: string, bytes = 0, ms = 0, badSlices = 0): Promise<void> {
    await this.writes.onIdle();
    const before = this.state;
    if (before.phase !== 'waiting' && before.phase !== 'fetching') return; // stopped meanwhile
    await before.target.sync();
    const s = this.to({ type: 'imaged' });
    if (s?.phase !== 'serving') return; // stopped during the flush
    this.result.outcome = 'imaged';
    this.result.imagedAt = Date.now();
    if (!serverId) this.role.send({ type: 'want', have: s.target.store.heldSlices }); // reused: holdings first
    const done = { server: serverId ?? 'reused', bytes, ms, ...peerTraffic(this.meter, this.result) };
    this.role.send({ type: 'done', ...done, ...(badSlices ? { badSlices } : {}) });
    await this.startServing(false, s.manifest, s.target);
    this.offerServe();
  }

  /** Serve slices: as a relay while downloading in a relay session, then the whole image. */
  private async startServing(relay: boolean, manifest: Manifest, target: PeerTarget): Promise<void> {
    if (this.opts.capacity <= 0) return;
    const capacity = relay ? Math.min(this.opts.capacity, this.opts.relayCapacity) : this.opts.capacity;
    const first = !this.c.serving.started;
    await this.c.serving.start({ relay, capacity, store: target.store, manifest, target });
    if (first && !relay) this.emitProgress('serving');
  }

  private offerServe(): void {
    const offer = this.c.serving.offer(this.role.control?.localAddress);
    if (offer) this.role.send({ type: 'serve', ...offer });
  }

  private onSessionEnded(reason: string): void {
    this.result.sessionEndReason = reason;
    this.log.info({ reason, outcome: this.result.outcome }, 'session ended');
    if (!imaged(this.state))
      throw new CascadeError('ERR_INCOMPLETE', `session ended (${reason}) before the image was complete`);
    this.role.finish(this.result);
  }

  private reportProgress(): void {
    const s = this.state;
    if (s.phase !== 'fetching') return;
    const p = peerProgress(s.target.store, 'transferring', this.meter.rate());
    const traffic = peerTraffic(this.meter, this.result);
    this.role.send({ type: 'progress', slices: p.slices, bytes: p.bytes, rate: p.rate, ...traffic });
    this.opts.onProgress?.(p);
  }

  private emitProgress(phase: PeerProgress['phase'], server?: string): void {
    this.opts.onProgress?.(peerProgress(targetOf(this.state)?.store ?? null, phase, 0, server));
  }
}
