import type { ClientMessageOf } from '@cascade/common';
import { Member, type MemberConnection } from './member.js';

/**
 * Every member by id: one record each, holding its connection, identity, server slot and board
 * line (member.ts). The only map the coordinator keeps of its members.
 */
export class MemberTable {
  private readonly byId = new Map<string, Member>();

  get(id: string): Member | undefined {
    return this.byId.get(id);
  }

  /** The member's name, or its id when it is not known (any more). */
  name(id: string): string {
    return this.byId.get(id)?.name ?? id;
  }

  /**
   * A hello passed the gate on `conn`: the member's record (kept from an earlier connection, or
   * new) now speaks over `conn`. An older connection still open under the same id is replaced.
   */
  welcome(conn: MemberConnection, hello: ClientMessageOf<'hello'>): Member {
    let m = this.byId.get(hello.id);
    if (!m) {
      m = new Member(hello.id, hello);
      this.byId.set(hello.id, m);
    }
    const old = m.conn;
    Object.assign(m, { conn, role: hello.role, name: hello.name, hostname: hello.name, session: hello.session });
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

  /** Drop a member's record once nothing of it is worth keeping. */
  settle(m: Member): void {
    if (!m.worthKeeping && this.byId.get(m.id) === m) this.byId.delete(m.id);
  }

  /** Every member record, connected or kept. */
  all(): Iterable<Member> {
    return this.byId.values();
  }

  /** Members connected now, in `session` (or all). */
  *connected(session?: string): Iterable<Member> {
    for (const m of this.byId.values()) if (m.conn && (session === undefined || m.session === session)) yield m;
  }
}
