import {
  computeImageId,
  SliceBitmap,
  type ClientMessage,
  type ClientMessageOf,
  type Logger,
  type MachineInfo,
  type Manifest,
  type Role,
  type SessionOptions,
} from '@cascade/common';
import { CoordinatorState } from '../src/coordinator-state.js';
import { onClosed } from '../src/handlers/closed.js';
import { dispatch } from '../src/handlers/dispatch.js';
import { onHello } from '../src/handlers/session-handlers.js';
import type { Member, MemberConnection } from '../src/members/member.js';
import type { UnreachableOptions } from '../src/health/unreachable-reports.js';
import { manifestOf, StubConnection } from './member-stubs.js';

export interface LogLine {
  level: string;
  fields: Record<string, unknown>;
  msg: string;
}

/** A logger that keeps every line it is given (no pino, no stream). */
export function recordingLogger(lines: LogLine[]): Logger {
  const make = (): unknown => ({
    child: () => make(),
    ...Object.fromEntries(
      ['trace', 'debug', 'info', 'warn', 'error', 'fatal'].map((level) => [
        level,
        (fields: Record<string, unknown>, msg: string) => lines.push({ level, fields, msg }),
      ]),
    ),
  });
  return make() as Logger;
}

/** A manifest of 4 slices that passes parseManifest (its imageId is that of its content). */
export function openableManifest(seed = 0): Manifest {
  const m = manifestOf('x', 4);
  m.digests = m.digests.map((_, i) => (seed * 16 + i).toString(16).padStart(32, '1'));
  m.zero = new SliceBitmap(4).toBase64();
  return { ...m, imageId: computeImageId(m) };
}

export interface JoinOptions {
  /** Address the member connects from (default 127.0.0.1), and the coordinator's end of that link. */
  ip?: string;
  local?: string;
  name?: string;
  machine?: MachineInfo;
}

/**
 * The coordinator's whole state with its real handlers, driven by messages from stub
 * connections and a clock the test moves: no socket, no timer.
 */
export class StateHarness {
  now = 1_000_000;
  readonly log: LogLine[] = [];
  readonly state: CoordinatorState;

  constructor(opts: { unreachable?: Partial<UnreachableOptions>; sourceGraceMs?: number } = {}) {
    this.state = new CoordinatorState({
      log: recordingLogger(this.log),
      now: () => this.now,
      processMetrics: false,
      sourceGraceMs: opts.sourceGraceMs ?? 1000,
      ...(opts.unreachable ? { unreachable: opts.unreachable } : {}),
    });
  }

  /** A member says hello over a new stub connection. */
  join(id: string, role: Role, session: string | undefined, o: JoinOptions = {}): { conn: StubConnection; m: Member } {
    const conn = new StubConnection(`${o.ip ?? '127.0.0.1'}:40000`, o.local ?? '127.0.0.1');
    const hello: ClientMessageOf<'hello'> = {
      ...{ type: 'hello', protocol: 2, role, id, name: o.name ?? id },
      ...(session ? { session } : {}),
      ...(o.machine ? { machine: o.machine } : {}),
    };
    onHello(this.state.ctx, conn, hello, this.now);
    return { conn, m: this.state.members.get(id)! };
  }

  send(m: Member, msg: Exclude<ClientMessage, { type: 'hello' }>): void {
    dispatch(this.state.ctx, m, msg, this.now);
  }

  /** A seeder that opens `session` with a 4-slice image and serves at `host`. */
  seeder(
    id: string,
    session: string,
    o: JoinOptions & { options?: SessionOptions; host?: string; capacity?: number } = {},
  ): { conn: StubConnection; m: Member } {
    const s = this.join(id, 'seeder', session, o);
    this.send(s.m, { type: 'open-session', manifest: { ...openableManifest() }, options: o.options ?? {} });
    this.serve(s.m, o.host ?? '127.0.0.1', o.capacity ?? 2);
    return s;
  }

  /**
   * The member holds the whole image: holdings first, then done (as a `--reuse` peer says), and
   * the coordinator knows it holds it, as after transfers it assigned (a shortcut: a claim alone
   * never makes a source, issue 29).
   */
  imaged(m: Member): void {
    this.send(m, { type: 'want', have: openableManifest().digests.length });
    this.send(m, { type: 'done', server: 'reused', bytes: 0, ms: 0 });
    m.holds = m.session ?? null;
  }

  serve(m: Member, host: string, capacity = 2): void {
    this.send(m, { type: 'serve', host, port: 7771, capacity });
  }

  /** A peer that joins `session` and asks for the image. */
  peer(id: string, session: string, o: JoinOptions = {}): { conn: StubConnection; m: Member } {
    const p = this.join(id, 'peer', session, o);
    this.send(p.m, { type: 'want', have: 0 });
    return p;
  }

  /** The connection closed (clean: its member closed it on purpose). */
  close(conn: MemberConnection, clean = false): void {
    onClosed(this.state.ctx, conn, clean, this.now);
  }

  tick(ms: number): void {
    this.now += ms;
    this.state.tick();
  }

  session(name: string) {
    const s = this.state.status(name).sessions[0];
    if (!s) throw new Error(`no session ${name} in status`);
    return s;
  }
}
