import type { MachineInfo } from '@cascade/common';
import { macFor, plainIp } from '../members/addresses.js';
import type { Member } from '../members/member.js';
import type { MemberTable } from '../members/member-table.js';
import type { Roster } from './roster.js';
import type { SessionStore } from './session-store.js';

/** Codes a peer leaves with that are no failure of its own: it was stopped, or its session ended. */
const NOT_A_FAILURE: ReadonlySet<string> = new Set(['ERR_STOPPED', 'ERR_INCOMPLETE', 'ERR_SESSION_ENDED']);

/**
 * Who each machine is and how it ended, per session (session-store.ts): its unique display name,
 * the address it connected from and its MAC when it joins; imaged, failed, left or lost after.
 */
export class MemberOutcomes {
  constructor(private readonly p: { members: MemberTable; sessions: SessionStore }) {}

  /**
   * A seeder or peer said hello (first time or again): its address as seen and its MAC are
   * noted, it gets its display name (renaming others of its hostname), a peer joins the roster.
   */
  joined(m: Member, machine: MachineInfo | undefined, now: number): void {
    if (m.conn) m.ip = plainIp(m.conn.address);
    m.mac = macFor(machine, m.ip) ?? m.mac;
    if (!m.session || (m.role !== 'peer' && m.role !== 'seeder')) return;
    const book = this.p.sessions.ensure(m.session);
    const identity = { id: m.id, hostname: m.hostname, ip: m.ip, mac: m.mac };
    for (const [id, name] of book.admit(identity)) {
      const other = this.p.members.get(id);
      if (other && other.session === m.session) other.name = name;
    }
    m.name = book.nameOf(m.id) ?? m.hostname;
    if (m.role === 'peer') book.roster.join(identity, now);
  }

  /** A peer holds the whole image, from `source` (a server's id). */
  imaged(m: Member, source: string | null, now: number): void {
    this.roster(m)?.imaged(m.id, source, now);
  }

  /** A peer ends on a fault of its own (its target, its verification). */
  failed(m: Member, code: string, reason: string): void {
    this.roster(m)?.failed(m.id, code, reason);
  }

  /** A peer said it leaves; with a code of its own failure, it failed. */
  left(m: Member, reason: string, code: string | undefined): void {
    if (code !== undefined && !NOT_A_FAILURE.has(code)) this.failed(m, code, reason);
    else this.roster(m)?.gone(m.id, 'left');
  }

  /**
   * A peer's control link closed: cleanly (it left) or not (lost). One imaged by its claim alone
   * leaves no trace: anyone can make up such ids by the thousand.
   */
  closed(m: Member, clean: boolean): void {
    if (m.imagedByClaim) this.roster(m)?.forget(m.id);
    else this.roster(m)?.gone(m.id, clean ? 'left' : 'lost');
  }

  /** The session runs anew (re-opened after it ended): a fresh roster of the peers connected now. */
  restarted(session: string, now: number): void {
    const book = this.p.sessions.session(session);
    if (!book) return;
    book.restart();
    for (const m of this.p.members.connected(session))
      if (m.role === 'peer') book.roster.join({ id: m.id, hostname: m.hostname, ip: m.ip, mac: m.mac }, now);
  }

  private roster(m: Member): Roster | undefined {
    return m.role === 'peer' && m.session ? this.p.sessions.session(m.session)?.roster : undefined;
  }
}
