import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  newTicketKey,
  signTicket,
  type CascadeError,
  type ClientMessageOf,
  type CoordinatorMessage,
  type Role,
} from '@cascade/common';
import type { SessionRecord } from '../sessions/session-store.js';

export type { SessionRecord } from '../sessions/session-store.js';

/** What a member needs of its control connection: ControlConnection, or a stub in tests. */
export interface MemberConnection {
  /** Remote address and port. */
  readonly remote: string;
  /** Remote IP alone, as the socket saw it. */
  readonly address: string;
  /** The coordinator's own address on this connection: how the other end reaches this host. */
  readonly localAddress: string | null;
  member: Member | null;
  send(msg: CoordinatorMessage): void;
  /** Reply with an error, keeping the connection. */
  reject(err: CascadeError): void;
  /** The hello passed: this connection now speaks for `member`. */
  welcomed(member: Member): void;
  /** Close it: the same member connected again. */
  replaced(): void;
}

/**
 * What the status board shows of one peer or server beyond the scheduler's queues. Who serves it
 * is not kept here: the scheduler's client entry says (one owner of every assignment).
 */
export interface PeerView {
  connected: boolean;
  host: string | null;
  joinedAt: number;
  slices: number;
  bytes: number;
  rate: number;
  updatedAt: number;
  /** Bytes this peer's clients received from it, from their progress reports. */
  bytesServed?: number;
  /** Its reported totals: wire bytes received, payload bytes written (progress `wire`, `payload`). */
  wire?: number;
  payload?: number;
}

/** When bad-slice reports quarantine a server (see README "Security"). */
export interface QuarantinePolicy {
  /** Bad slices reported against it in all. */
  slices: number;
  /** Distinct clients, each assigned to it by the coordinator, that reported bad slices. */
  reporters: number;
}

/**
 * Where a member serves and the ticket key it was given, and the bad slices its clients reported
 * against it. Kept by member id across reconnects, so tickets already issued stay valid and a
 * quarantine is not cleared by reconnecting.
 */
export class ServerSlot {
  /** Shared with this server alone; signs the tickets it accepts. */
  readonly key = newTicketKey();
  badSlices = 0;
  /** Ids of the clients whose reports counted against it. */
  readonly reporters = new Set<string>();
  quarantined = false;

  constructor(
    public host: string,
    public port: number,
  ) {}

  /** A ticket for `client` to fetch `imageId` of `session` from this server (`server` is its id). */
  ticket(claims: { session: string; imageId: string; client: string; server: string }, expires: number): string {
    return signTicket({ ...claims, expires }, this.key);
  }

  /**
   * Count `count` bad slices reported by `reporter` (a client the coordinator assigned to this
   * server); `quarantine` is true when the server has just earned it under `policy`.
   */
  reportBadSlices(reporter: string, count: number, policy: QuarantinePolicy): { total: number; quarantine: boolean } {
    if (count > 0) {
      this.badSlices += count;
      if (this.reporters.size < 64) this.reporters.add(reporter);
    }
    const earned = this.badSlices >= policy.slices && this.reporters.size >= policy.reporters;
    const quarantine = earned && !this.quarantined;
    if (quarantine) this.quarantined = true;
    return { total: this.badSlices, quarantine };
  }
}

/**
 * One member of the coordinator's lab, by the id it said hello with: its current control
 * connection (null once it closed), who it is, the session it opened, where it serves, and its
 * line on the status board. The record outlives a connection only while it still means
 * something: an imaged peer stays on the board, a server keeps its ticket key.
 */
export class Member {
  conn: MemberConnection | null = null;
  role: Role;
  /** Its display name: the name it gave when unique in its session, else made unique (sessions/session-store.ts). */
  name: string;
  /** The name it gave at hello (`--name`, else its hostname). */
  hostname: string;
  /** The address it connected from, as the coordinator saw it (kept once it disconnects). */
  ip: string | null = null;
  /** The MAC of the interface that holds `ip`, when its hello said (hello.machine). */
  mac: string | null = null;
  /** The session it named at hello (seeders and peers; none for observers and operators). */
  session: string | undefined;
  /** The session this member opened, with its manifest (seeders). */
  opened: SessionRecord | null = null;
  /** A further seeder of an open session's image: the session it is a source of (may serve). */
  sourceOf: string | null = null;
  serving: ServerSlot | null = null;
  view: PeerView | null = null;
  /** Proves a reconnect under this id (sent in every welcome; never shown or logged). */
  readonly secret = randomBytes(24).toString('base64url');
  /**
   * The last assignment delivered to this client (the ticket issued: running, or just ended), kept
   * past the transfer to judge its claims: its server is the only one a bad-slice report may count
   * against, once (`reported`); `movedFrom`: a move took it off that server (reroute.ts). Which
   * server serves it now is the scheduler's to say (`getClient(id).server`).
   */
  assignment: { session: string; server: string; at: number; reported: boolean; movedFrom?: string } | null = null;
  /** The session in which the coordinator counted its `done` (it holds the image there). */
  imagedIn: string | null = null;
  /**
   * The session whose image the coordinator knows this member holds, so that it may serve it: its
   * counted `done` ended a transfer the coordinator assigned it there. Announced holdings (`want`
   * with every slice: `--reuse`, or back after a coordinator restart) count its done but never make
   * it a source: a claim is not proof (issue 29, finding 1).
   */
  holds: string | null = null;
  /**
   * Its `done` in `imagedIn` rested on its word alone (it announced every slice; the coordinator
   * assigned it no transfer): it counts as imaged only while it stays connected, and is
   * forgotten when it leaves (issue 29).
   */
  imagedByClaim = false;
  /** The slices it last announced (`want`) holding, in which session. */
  announced: { session: string; have: number } | null = null;
  /**
   * A `done` (and then a `serve`) that came before its session's manifest was known (a coordinator
   * restarted, the peer back before the seeder): judged once the seeder opens the session.
   */
  deferred: { done: ClientMessageOf<'done'>; serve: ClientMessageOf<'serve'> | null } | null = null;
  /** When its last connection closed (a departed record, kept a while for its secret). */
  leftAt: number | null = null;

  constructor(
    readonly id: string,
    hello: { role: Role; name: string; session?: string | undefined },
  ) {
    this.role = hello.role;
    this.name = hello.name;
    this.hostname = hello.name;
    this.session = hello.session;
  }

  /** Whether `secret` is this member's secret (constant-time). */
  proves(secret: string | undefined): boolean {
    if (secret === undefined) return false;
    const digest = (v: string): Buffer => createHash('sha256').update(v).digest();
    return timingSafeEqual(digest(secret), digest(this.secret));
  }

  /** Remote address and port of its current connection. */
  get remote(): string | undefined {
    return this.conn?.remote;
  }

  /** Remote IP alone of its current connection (per-address limits). */
  get address(): string | undefined {
    return this.conn?.address;
  }

  send(msg: CoordinatorMessage): void {
    this.conn?.send(msg);
  }

  /** Put it on the board (first time, or again after a reconnect: its progress is kept). */
  showOnBoard(now: number): PeerView {
    this.view ??= { slices: 0, bytes: 0, rate: 0, updatedAt: now, host: null, joinedAt: now, connected: true };
    this.view.connected = this.conn !== null;
    return this.view;
  }

  /** Whether anything of it must be kept once its connection closed. */
  get worthKeeping(): boolean {
    return this.conn !== null || this.view !== null || this.serving !== null;
  }
}
