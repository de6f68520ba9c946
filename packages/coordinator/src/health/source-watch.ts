/** What changed for a session's sources: none left for a while (`lost`), or one back after that. */
export type SourceChange = 'lost' | 'back' | null;

/**
 * Sessions without a complete source (no seeder, no imaged peer serving: at most relays holding
 * parts): when each lost its last one and whether that was said. A session is said to be
 * without a source only after `graceMs`, so a seeder between its open-session and its serve, or
 * reconnecting, raises nothing.
 */
export class SourceWatch {
  private readonly without = new Map<string, { since: number; said: boolean }>();

  constructor(private readonly graceMs = 3000) {}

  /** The session has `complete` sources now. */
  observe(session: string, complete: number, now: number): SourceChange {
    const w = this.without.get(session);
    if (complete > 0) {
      this.without.delete(session);
      return w?.said ? 'back' : null;
    }
    if (!w) {
      this.without.set(session, { since: now, said: false });
      return null;
    }
    if (w.said || now - w.since < this.graceMs) return null;
    w.said = true;
    return 'lost';
  }

  /** The session ended or was dropped: nothing more to say about it. Returns whether it was said. */
  forget(session: string): boolean {
    const said = this.without.get(session)?.said ?? false;
    this.without.delete(session);
    return said;
  }

  /** Whether the session has been without a complete source long enough to say so. */
  isWithout(session: string): boolean {
    return this.without.get(session)?.said ?? false;
  }
}
