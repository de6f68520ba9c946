/**
 * members/ owns every member the coordinator knows: one `Member` record per id (its connection,
 * identity and secret, display name, server slot, board line and the assignment it was last
 * delivered) in one `MemberTable`; names made unique (member-names.ts, name-book.ts) and the
 * addresses a client can reach (addresses.ts).
 */
import { CascadeError, type ClientMessageOf } from '@cascade/common';
import { Member, type MemberConnection } from './member.js';

/** How long, and how many, records of departed members are kept for their secret. */
export interface MemberRetention {
  /** Departed seeders and peers remembered at most (the oldest are forgotten first). */
  maxDeparted: number;
  /** A departed member is forgotten this long after its connection closed. */
  departedTtlMs: number;
}

export const DEFAULT_MEMBER_RETENTION: MemberRetention = { maxDeparted: 4096, departedTtlMs: 30 * 60_000 };

/**
 * Every member by id: one record each, holding its connection, identity, secret, server slot and
 * board line (member.ts). The only map the coordinator keeps of its members.
 *
 * An id is taken by the first hello that uses it: from then on a hello under that id must carry
 * the member's secret (from its first welcome) and the same role. A seeder or peer that leaves is
 * remembered a while (bounded in time and count), so nobody can say hello under its id while it
 * reconnects; observers and operators hold nothing and are forgotten once they close.
 */
export class MemberTable {
  private readonly byId = new Map<string, Member>();
  /** Ids of departed members kept only for their secret, oldest departure first. */
  private readonly departed = new Set<string>();

  constructor(private readonly retention: MemberRetention = DEFAULT_MEMBER_RETENTION) {}

  get(id: string): Member | undefined {
    return this.byId.get(id);
  }

  /** The member's name, or its id when it is not known (any more). */
  name(id: string): string {
    return this.byId.get(id)?.name ?? id;
  }

  /** Records held, departed ones included (for tests and metrics). */
  get size(): number {
    return this.byId.size;
  }

  /**
   * A hello passed the gate on `conn`. Under a new id, a new member; under a known id, the member
   * itself when the hello proves its secret and keeps its role (an older connection still open is
   * then replaced), else the refusal, and the member keeps its connection and everything else.
   */
  welcome(conn: MemberConnection, hello: ClientMessageOf<'hello'>, now: number): Member | CascadeError {
    this.prune(now);
    let m = this.byId.get(hello.id);
    if (m && !m.proves(hello.secret)) {
      return new CascadeError('ERR_ID_TAKEN', `id ${hello.id} is taken: a reconnect must carry the member's secret`);
    }
    if (m && m.role !== hello.role) {
      return new CascadeError('ERR_ROLE_FORBIDDEN', `member ${hello.id} is a ${m.role}, not a ${hello.role}`);
    }
    const session = hello.role === 'seeder' || hello.role === 'peer' ? hello.session : undefined;
    if (!m) {
      m = new Member(hello.id, { ...hello, session });
      this.byId.set(hello.id, m);
    }
    this.departed.delete(m.id);
    const old = m.conn;
    Object.assign(m, { conn, name: hello.name, hostname: hello.name, session, leftAt: null });
    if (old && old !== conn) old.replaced();
    conn.welcomed(m);
    if (m.view) m.view.connected = true;
    return m;
  }

  /**
   * `conn` closed. Returns its member when that was the member's current connection (a replaced
   * connection closing changes nothing), with the connection cleared.
   */
  disconnected(conn: MemberConnection): Member | null {
    const m = conn.member;
    if (!m || m.conn !== conn || this.byId.get(m.id) !== m) return null;
    m.conn = null;
    return m;
  }

  /**
   * A member's connection closed and the coordinator is done with it: a record with nothing
   * worth keeping is forgotten (an observer or operator) or kept a while as departed (a seeder
   * or peer, for its secret).
   */
  settle(m: Member, now: number): void {
    if (m.worthKeeping || this.byId.get(m.id) !== m) return;
    if (m.role === 'observer' || m.role === 'operator' || m.imagedByClaim) {
      this.byId.delete(m.id);
      return;
    }
    m.leftAt = now;
    this.departed.add(m.id);
    this.prune(now);
  }

  /** Every member record, connected or kept. */
  all(): Iterable<Member> {
    return this.byId.values();
  }

  /** Members connected now, in `session` (or all). */
  *connected(session?: string): Iterable<Member> {
    for (const m of this.byId.values()) if (m.conn && (session === undefined || m.session === session)) yield m;
  }

  /** Forget departed members past their time, and the oldest beyond the count. */
  private prune(now: number): void {
    const { maxDeparted, departedTtlMs } = this.retention;
    for (const id of this.departed) {
      const m = this.byId.get(id);
      const expired = !m || m.leftAt === null || now - m.leftAt >= departedTtlMs;
      if (!expired && this.departed.size <= maxDeparted) break;
      this.departed.delete(id);
      if (m && !m.conn && !m.worthKeeping) this.byId.delete(id);
    }
  }
}
