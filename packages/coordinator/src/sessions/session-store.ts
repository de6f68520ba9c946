import type { MemberIdentity } from '../members/member-names.js';
import { NameBook } from '../members/name-book.js';
import { Roster } from './roster.js';

/** Members one session remembers for naming (seeders and peers), oldest forgotten first. */
const IDENTITY_LIMIT = 10_000;

/**
 * What the coordinator keeps of one session beyond the scheduler: who joined it (every seeder
 * and peer, in join order, for unique display names) and its roster (every peer and how it
 * ended). It exists from the first hello naming the session, opened by a seeder or not.
 */
export class SessionBook {
  roster = new Roster();
  private readonly names = new NameBook();

  constructor(
    readonly name: string,
    readonly createdAt: number,
  ) {}

  /**
   * A seeder or peer of this session said hello: remember who it is. Returns the members whose
   * display name changed (a second machine of the same hostname renames the first too).
   */
  admit(identity: MemberIdentity): Map<string, string> {
    const changed = this.names.admit(identity);
    if (this.names.size > IDENTITY_LIMIT) for (const [id, n] of this.names.forgetOldest()) changed.set(id, n);
    return changed;
  }

  /** The member's display name in this session, if it joined it. */
  nameOf(id: string): string | undefined {
    return this.names.nameOf(id);
  }

  /** The session runs anew (re-opened after it ended): a fresh roster; names are kept. */
  restart(): void {
    this.roster = new Roster();
  }
}

/** Every session's book, by session name. */
export class SessionBooks {
  private readonly books = new Map<string, SessionBook>();

  get(name: string): SessionBook | undefined {
    return this.books.get(name);
  }

  ensure(name: string, now: number): SessionBook {
    let b = this.books.get(name);
    if (!b) {
      b = new SessionBook(name, now);
      this.books.set(name, b);
    }
    return b;
  }

  delete(name: string): void {
    this.books.delete(name);
  }

  names(): string[] {
    return [...this.books.keys()];
  }
}
