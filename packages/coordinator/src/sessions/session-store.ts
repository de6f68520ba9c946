/**
 * sessions/ owns every session the coordinator knows: one `Session` record each (its image and
 * opener, its members' display names, its roster of outcomes), kept in one `SessionStore` that
 * also reaches the scheduler's entry (state, gates, queues) by the same name. Retention drops a
 * session with one call (`SessionStore.drop`), from every table at once.
 */
import type { Manifest } from '@cascade/common';
import type { MemberIdentity } from '../members/member-names.js';
import { NameBook } from '../members/name-book.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { SessionEntry } from '../scheduler/types.js';
import { Roster } from './roster.js';

/** Members one session remembers for naming (seeders and peers), oldest forgotten first. */
const IDENTITY_LIMIT = 10_000;

/** A session the coordinator knows the image of: the manifest its seeder opened it with. */
export interface SessionRecord {
  name: string;
  manifest: Manifest;
  /** Id of the seeder that opened (or last re-opened) it. */
  openedBy: string;
  /** The opener's estimate of the image's wire size (open-session `wireBytes`), when it sent one. */
  wireEstimate?: number | undefined;
}

/** What a session's peers received, from their progress reports: payload bytes and wire bytes. */
export interface SessionTraffic {
  wire: number;
  payload: number;
}

/**
 * One session as the coordinator keeps it beyond the scheduler's entry: the image it was opened
 * with (null until a seeder opens it), who joined it (every seeder and peer, in join order, for
 * unique display names) and its roster (every peer and how it ended). It exists from the first
 * hello naming the session, opened by a seeder or not.
 */
export class Session {
  roster = new Roster();
  /** Bytes its peers received (status and metrics); a fresh count when it runs anew. */
  traffic: SessionTraffic = { wire: 0, payload: 0 };
  /** The image and opener, once a seeder opened it. */
  opened: SessionRecord | null = null;
  private readonly names = new NameBook();

  constructor(readonly name: string) {}

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
    this.traffic = { wire: 0, payload: 0 };
  }
}

/**
 * Every session by name: the one store. `get`/`set` read and record the opened image (the
 * manifest and its opener); `session`/`ensure` give the whole record; `entry` is the scheduler's
 * part of it. Nothing else keeps a table of sessions but the scheduler, whose entry goes with
 * `drop`.
 */
export class SessionStore {
  private readonly byName = new Map<string, Session>();

  constructor(private readonly scheduler: Scheduler) {}

  /** The session's opened image and opener, or undefined while no seeder opened it. */
  get(name: string): SessionRecord | undefined {
    return this.byName.get(name)?.opened ?? undefined;
  }

  /** A seeder opened (or re-opened) the session with `record`. */
  set(name: string, record: SessionRecord): void {
    this.ensure(name).opened = record;
  }

  /** The whole record of the session, if any member named it or a seeder opened it. */
  session(name: string): Session | undefined {
    return this.byName.get(name);
  }

  ensure(name: string): Session {
    let s = this.byName.get(name);
    if (!s) {
      s = new Session(name);
      this.byName.set(name, s);
    }
    return s;
  }

  /** The scheduler's entry of the session (state, gates, queues), if it has one. */
  entry(name: string): SessionEntry | undefined {
    return this.scheduler.getSession(name);
  }

  /** Names of the sessions recorded here (a session only the scheduler knows is not among them). */
  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Names of every session the scheduler holds (open, waiting, ended or pending). */
  schedulerNames(): string[] {
    return this.scheduler.sessionNames();
  }

  /** Forget the session everywhere: its record here and its scheduler entry. */
  drop(name: string): void {
    this.scheduler.dropSession(name);
    this.byName.delete(name);
  }
}
