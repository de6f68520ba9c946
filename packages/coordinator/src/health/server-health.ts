/**
 * health/ owns what the coordinator concludes about its servers and sources: clients' reports
 * that a server cannot be reached (unreachable-reports.ts, a circuit breaker per server) and
 * sessions left without a complete source (source-watch.ts), both turned into scheduler calls here.
 */
import type { Logger } from '@cascade/common';
import type { MemberTable } from '../members/member-table.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { Decision, SessionEntry } from '../scheduler/types.js';
import type { SourceWatch } from './source-watch.js';
import type { UnreachableReports } from './unreachable-reports.js';
import type { WarningLog } from '../status/warning-log.js';

export interface HealthParts {
  scheduler: Scheduler;
  members: MemberTable;
  reports: UnreachableReports;
  sources: SourceWatch;
  warnings: WarningLog;
  log: Logger;
}

/**
 * Whether servers can be reached and sessions still have a complete source: clients' reports
 * of unreachable servers hold a server back (unreachable-reports.ts), a transfer from it clears
 * it; a session left with no complete source is said loudly (log, status warning, the
 * `cascade_session_complete_sources` gauge) and cleared when one returns.
 */
export class ServerHealth {
  constructor(private readonly p: HealthParts) {}

  /** `client` (one of `serverId`'s assigned clients) could not reach it. */
  unreachable(serverId: string, client: string, now: number): Decision[] {
    const srv = this.p.scheduler.getServer(serverId);
    if (!srv) return [];
    const session = this.p.scheduler.getSession(srv.session);
    const reporters = session ? this.reporters(session, serverId) : 1;
    const wasMarked = this.p.reports.isUnreachable(serverId);
    const verdict = this.p.reports.report(serverId, client, now, reporters);
    const name = this.p.members.name(serverId);
    if (verdict === 'unreachable' && !wasMarked) {
      const reportedBy = this.p.reports.reportCount(serverId);
      this.p.log.warn({ server: name, id: serverId, session: srv.session, reportedBy }, 'server unreachable');
      const detail = `${name} could not be reached by ${reportedBy} client(s): no longer assigned`;
      this.p.warnings.add({ at: now, event: 'server-unreachable', detail, session: srv.session });
    }
    return this.p.scheduler.suspendServer(serverId, true, now);
  }

  /** A client received bytes from `serverId` (or finished from it): it is reachable after all. */
  reached(serverId: string, now: number): Decision[] {
    if (!this.p.reports.clear(serverId)) return [];
    this.p.log.info({ server: this.p.members.name(serverId) }, 'server reachable again');
    return this.p.scheduler.suspendServer(serverId, false, now);
  }

  /** The server offers its slots anew (a new address, perhaps): earlier reports no longer hold. */
  reannounced(serverId: string, now: number): Decision[] {
    this.p.reports.clear(serverId);
    return this.p.scheduler.suspendServer(serverId, false, now);
  }

  /** The server is gone: nothing said about it matters any more. */
  forget(serverId: string): void {
    this.p.reports.clear(serverId);
  }

  isUnreachable(serverId: string): boolean {
    return this.p.reports.isUnreachable(serverId);
  }

  /** Held-back servers whose time is up get clients again; sessions' sources are checked. */
  tick(now: number): Decision[] {
    const out: Decision[] = [];
    for (const id of this.p.reports.due(now)) out.push(...this.p.scheduler.suspendServer(id, false, now));
    for (const name of this.p.scheduler.sessionNames()) this.watchSources(this.p.scheduler.getSession(name)!, now);
    return out;
  }

  /** Servers of the session that hold the whole image and can be given clients. */
  completeSources(s: SessionEntry): number {
    let n = 0;
    for (const id of s.servers) {
      const srv = this.p.scheduler.getServer(id);
      if (!srv || srv.quarantined || this.p.reports.isUnreachable(id)) continue;
      const whole = this.p.members.get(id)?.role === 'seeder' || this.p.scheduler.getClient(id)?.state === 'imaged';
      if (whole) n++;
    }
    return n;
  }

  /** The session has ended: it needs no source any more. */
  ended(session: string): void {
    if (this.p.sources.forget(session)) this.p.warnings.remove((w) => w.event === 'no-source' && w.session === session);
  }

  private watchSources(s: SessionEntry, now: number): void {
    if (s.state !== 'waiting' && s.state !== 'running') return;
    const change = this.p.sources.observe(s.name, this.completeSources(s), now);
    if (change === 'lost') {
      const relays = s.servers.size;
      this.p.log.warn({ code: 'ERR_NO_SOURCE', session: s.name, relays }, 'no complete source');
      const detail = `session ${s.name} has no complete source (no seeder, no imaged peer serving; ${relays} partial): start the seeder again`;
      this.p.warnings.add({ at: now, event: 'no-source', detail, session: s.name });
    } else if (change === 'back') {
      this.p.log.info({ session: s.name }, 'complete source back');
      this.p.warnings.remove((w) => w.event === 'no-source' && w.session === s.name);
    }
  }

  /** Clients of the session that could report the server: every one still without the image. */
  private reporters(s: SessionEntry, serverId: string): number {
    let n = 0;
    for (const id of s.clients) if (id !== serverId && this.p.scheduler.getClient(id)?.state !== 'imaged') n++;
    return n;
  }
}
