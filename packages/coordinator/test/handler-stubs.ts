import {
  computeImageId,
  silentLogger,
  type ClientMessage,
  type ClientMessageOf,
  type SessionOptions,
} from '@cascade/common';
import { Effects } from '../src/effects.js';
import type { HandlerContext } from '../src/handlers/context.js';
import { dispatch } from '../src/handlers/dispatch.js';
import { onDisconnect, onHello } from '../src/handlers/session-handlers.js';
import type { HelloPolicy } from '../src/hello-gate.js';
import type { SessionRecord } from '../src/member.js';
import { MemberTable, type MemberRetention } from '../src/members.js';
import { CoordinatorMetrics } from '../src/metrics.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { buildStatus } from '../src/status.js';
import { WarningLog } from '../src/warning-log.js';
import { manifestOf, StubConnection } from './member-stubs.js';

type Sendable = Exclude<ClientMessage, { type: 'hello' }>;

/**
 * The coordinator's handlers over a real (pure) scheduler and member table, with stub
 * connections: hello and every message go through the same code the live coordinator runs.
 */
export class HandlerLab {
  readonly scheduler = new Scheduler();
  readonly members: MemberTable;
  readonly sessions = new Map<string, SessionRecord>();
  readonly warnings = new WarningLog();
  readonly ctx: HandlerContext;
  now = 1000;

  constructor(opts: { auth?: HelloPolicy; retention?: MemberRetention } = {}) {
    this.members = new MemberTable(opts.retention);
    const { scheduler, members, sessions, warnings } = this;
    const status = (s?: string) =>
      buildStatus({ scheduler, sessions, member: (id) => members.get(id), warnings: warnings.list() }, this.now, s);
    const metrics = new CoordinatorMetrics(() => status(), { processMetrics: false });
    const log = silentLogger();
    const effects = new Effects({
      ...{ scheduler, members, sessions, metrics, warnings, log },
      ...{ ticketTtlMs: 60_000, quarantine: { slices: 3, reporters: 2 } },
    });
    this.ctx = { scheduler, members, sessions, effects, log, auth: opts.auth ?? {}, status };
  }

  /** A new connection saying `hello`; its answer is in `conn.sent` (welcome) or `conn.failedWith`. */
  hello(h: Omit<ClientMessageOf<'hello'>, 'type' | 'protocol'>, remote?: string): StubConnection {
    const conn = new StubConnection(remote);
    onHello(this.ctx, conn, { type: 'hello', protocol: 2, ...h }, this.now);
    return conn;
  }

  /** A message on a welcomed connection (ignored, as live, when the connection was replaced). */
  send(conn: StubConnection, msg: Sendable): void {
    if (conn.member?.conn === conn) dispatch(this.ctx, conn.member, msg, this.now);
  }

  /** The connection closes. */
  close(conn: StubConnection): void {
    onDisconnect(this.ctx, conn, this.now);
  }

  /** A seeder that opened `session` (slices of image `img-1`) and serves it. */
  seeder(id = 'seed', session = 'lab', options: SessionOptions = {}, capacity = 2): StubConnection {
    const conn = this.hello({ role: 'seeder', id, name: id, session });
    const m = { ...manifestOf('img-1', 4), zero: Buffer.alloc(1).toString('base64') };
    this.send(conn, { type: 'open-session', manifest: { ...m, imageId: computeImageId(m) }, options });
    this.send(conn, { type: 'serve', host: '127.0.0.5', port: 7771, capacity });
    return conn;
  }

  /** A peer of `session` that said hello (and, with `want`, waits for the image). */
  peer(id: string, opts: { session?: string; want?: boolean } = {}): StubConnection {
    const conn = this.hello({ role: 'peer', id, name: id, session: opts.session ?? 'lab' });
    if (opts.want) this.send(conn, { type: 'want', have: 0 });
    return conn;
  }

  /** Secret from a connection's welcome. */
  static secretOf(conn: StubConnection): string | undefined {
    return conn.of('welcome')[0]?.secret;
  }
}
