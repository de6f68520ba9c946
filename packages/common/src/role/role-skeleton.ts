import type { Logger } from 'pino';
import { ControlClient, type ControlClientOptions } from '../control/control-client.js';
import { CascadeError, coordinatorRefusal, isCascadeError, isFatalRefusal, toCascadeError } from '../errors.js';
import type { ClientMessage, CoordinatorMessage } from '../protocol/control-messages.js';

/** The part of a control connection a role uses: a ControlClient, or a stub in unit tests. */
export interface RoleControl {
  start(): Promise<void>;
  send(msg: ClientMessage): boolean;
  /** Close after what was sent is flushed (a promise: resolved once closed). */
  close(): void | Promise<void>;
  readonly localAddress: string | undefined;
}

export interface ControlHandlers {
  onConnected: () => void;
  onMessage: (m: CoordinatorMessage) => void;
  onDisconnected: (reason: string) => void;
}

/** Makes the role's control connection once the role knows its handlers. */
export type ControlFactory = (handlers: ControlHandlers) => RoleControl;

/** The real control connection: a ControlClient to the coordinator. */
export function controlClientFactory(
  o: Omit<ControlClientOptions, 'onConnected' | 'onMessage' | 'onDisconnected'>,
): ControlFactory {
  return (h) => new ControlClient({ ...o, ...h });
}

export interface RoleSkeletonOptions {
  logger: Logger;
  control: ControlFactory;
  /** Run in the role's loop after every welcome: re-announce state. */
  onConnected: () => void | Promise<void>;
  /** Run in the role's loop for every coordinator message except `error` (handled here). */
  onMessage: (m: CoordinatorMessage) => void | Promise<void>;
}

/**
 * What peer and seeder share: the control wiring, the coordinator errors that are fatal, the
 * promise run() settles with, and one event loop. Every event (a coordinator message, the end of
 * a transfer) runs in that loop, each awaited before the next; whatever an event throws, and
 * whatever background work passed to watch() rejects with, ends the role through fail() — no
 * promise is dropped and nothing escapes as an unhandled rejection.
 */
export class RoleSkeleton<R> {
  private readonly settled: Promise<R>;
  private settle: { resolve: (r: R) => void; reject: (e: CascadeError) => void } | null = null;
  private tail: Promise<void> = Promise.resolve();
  private controlClient: RoleControl | null = null;
  private readonly log: Logger;
  /** Set once the role has finished or failed. */
  outcome: { ok: true; result: R } | { ok: false; error: CascadeError } | null = null;

  constructor(private readonly opts: RoleSkeletonOptions) {
    this.log = opts.logger;
    this.settled = new Promise<R>((resolve, reject) => (this.settle = { resolve, reject }));
    this.settled.catch(() => undefined); // a failure before run() awaits it is not unhandled
  }

  get ended(): boolean {
    return this.outcome !== null;
  }

  get control(): RoleControl | null {
    return this.controlClient;
  }

  /** Send to the coordinator; false when not connected (state is re-announced on reconnect). */
  send(msg: ClientMessage): boolean {
    return this.controlClient?.send(msg) ?? false;
  }

  /** Connect, then settle when finish() or fail() is called. `prepare` runs before connecting. */
  async run(prepare: () => Promise<void> = () => Promise.resolve()): Promise<R> {
    try {
      await prepare();
    } catch (err) {
      this.fail(toCascadeError(err, 'ERR_INTERNAL'));
    }
    if (!this.ended) this.connect();
    return this.settled;
  }

  /** Queue an event in the role's loop; what it throws ends the role. */
  post(what: string, fn: () => void | Promise<void>): void {
    this.tail = this.tail
      .then(async () => {
        if (!this.ended) await fn();
      })
      .catch((err: unknown) => this.failWith(err, { event: what }));
  }

  /** Watch background work (a transfer, a timer's job): a rejection ends the role. */
  watch(what: string, p: Promise<unknown>): void {
    p.catch((err: unknown) => this.failWith(err, { task: what }));
  }

  /**
   * End the role with what an event or task threw. A CascadeError with its own code is one of the
   * role's known endings (the session ended early, an untrusted manifest …): the caller prints its
   * one line, so it is logged without a stack. Anything else is a bug: logged with its stack.
   */
  private failWith(err: unknown, where: { event: string } | { task: string }): void {
    const e = toCascadeError(err, 'ERR_INTERNAL');
    if (isCascadeError(err) && err.code !== 'ERR_INTERNAL')
      this.log.debug({ ...where, code: e.code, reason: e.message }, 'role ending');
    else this.log.error({ err, ...where }, 'event failed');
    this.fail(e);
  }

  /** Wait until every queued event has run. */
  idle(): Promise<void> {
    return this.tail;
  }

  finish(result: R): void {
    if (!this.settle) return;
    this.outcome = { ok: true, result };
    this.settle.resolve(result);
    this.settle = null;
  }

  fail(error: CascadeError): void {
    if (!this.settle) return;
    this.outcome = { ok: false, error };
    this.settle.reject(error);
    this.settle = null;
  }

  /** Say goodbye (optional) and close the control connection; resolves once it is closed. */
  async close(leave?: ClientMessage): Promise<void> {
    const control = this.controlClient;
    this.controlClient = null;
    if (!control) return;
    if (leave) control.send(leave);
    await control.close();
  }

  private connect(): void {
    const control = this.opts.control({
      onConnected: () => this.post('connected', this.opts.onConnected),
      onMessage: (m) => this.onControlMessage(m),
      onDisconnected: (reason) => {
        if (reason === 'gave-up')
          this.fail(new CascadeError('ERR_COORDINATOR_UNREACHABLE', 'gave up on the coordinator'));
      },
    });
    this.controlClient = control;
    control.start().catch((err: unknown) => this.fail(this.refusal(err)));
  }

  private onControlMessage(m: CoordinatorMessage): void {
    if (m.type !== 'error') {
      this.post(m.type, () => this.opts.onMessage(m));
      return;
    }
    const refusal = coordinatorRefusal(m.code, m.message);
    const fatal = isFatalRefusal(refusal);
    this.log.warn({ remoteCode: m.code, reason: m.message, fatal }, 'coordinator reported an error');
    if (fatal) this.fail(refusal);
  }

  /** Why the first connection failed: a fatal coordinator refusal as it is, anything else as unreachable. */
  private refusal(err: unknown): CascadeError {
    if (isFatalRefusal(err)) return err;
    const e = toCascadeError(err, 'ERR_COORDINATOR_UNREACHABLE');
    if (e.code === 'ERR_COORDINATOR_UNREACHABLE') return e;
    return new CascadeError('ERR_COORDINATOR_UNREACHABLE', e.message, { cause: e });
  }
}
