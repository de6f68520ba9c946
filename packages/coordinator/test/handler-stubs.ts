import {
  computeImageId,
  silentLogger,
  type ClientMessage,
  type ClientMessageOf,
  type SessionOptions,
} from '@cascade/common';
import type { HandlerContext } from '../src/handlers/context.js';
import { dispatch } from '../src/handlers/dispatch.js';
import { onClosed } from '../src/handlers/closed.js';
import { onHello } from '../src/handlers/session-handlers.js';
import type { HelloPolicy } from '../src/net/hello-gate.js';
import type { MemberRetention } from '../src/members/member-table.js';
import { CoordinatorState } from '../src/coordinator-state.js';
import { manifestOf, StubConnection } from './member-stubs.js';

type Sendable = Exclude<ClientMessage, { type: 'hello' }>;

/**
 * The coordinator's handlers over a real (pure) scheduler and member table, with stub
 * connections: hello and every message go through the same code the live coordinator runs.
 */
export class HandlerLab {
  readonly state: CoordinatorState;
  readonly scheduler: CoordinatorState['scheduler'];
  readonly members: CoordinatorState['members'];
  readonly sessions: CoordinatorState['sessions'];
  readonly warnings: CoordinatorState['warnings'];
  readonly ctx: HandlerContext;
  now = 1000;

  constructor(opts: { auth?: HelloPolicy; retention?: MemberRetention } = {}) {
    this.state = new CoordinatorState({
      log: silentLogger(),
      now: () => this.now,
      processMetrics: false,
      ...(opts.auth ? { auth: opts.auth } : {}),
      ...(opts.retention ? { retention: opts.retention } : {}),
    });
    ({ scheduler: this.scheduler, members: this.members, sessions: this.sessions } = this.state);
    this.warnings = this.state.warnings;
    this.ctx = this.state.ctx;
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
    onClosed(this.ctx, conn, false, this.now);
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
