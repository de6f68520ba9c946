import type { Logger, SessionReport } from '@cascade/common';
import { DecisionApplier } from './applier.js';
import type { Member, QuarantinePolicy } from '../members/member.js';
import type { SessionStore, SessionTraffic as Traffic } from '../sessions/session-store.js';
import type { MemberTable } from '../members/member-table.js';
import type { CoordinatorMetrics } from '../status/metrics.js';
import { MemberOutcomes } from '../sessions/outcomes.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { Decision, SessionEntry } from '../scheduler/types.js';
import type { ServerHealth } from '../health/server-health.js';
import type { WarningLog } from '../status/warning-log.js';

export interface EffectParts {
  scheduler: Scheduler;
  members: MemberTable;
  sessions: SessionStore;
  metrics: CoordinatorMetrics;
  warnings: WarningLog;
  health: ServerHealth;
  /** A session's end report (summary and roster) for its seeders, or null when it is unknown. */
  report: (session: string) => SessionReport | null;
  log: Logger;
  ticketTtlMs: number;
  /** When bad-slice reports quarantine a server. */
  quarantine: QuarantinePolicy;
}

/** A client's report about its server: who says it, and the code it reported (its claim, not ours). */
export interface ClientClaim {
  reportedBy: string;
  code: string;
}

/** A bad-slice report the coordinator believes: from `client`, assigned by it to `server`. */
export interface BadSliceReport {
  client: Member;
  server: string;
  count: number;
  session: string;
  claim: ClientClaim;
}

/**
 * What happened, made what the world sees: scheduler decisions go through the one applier
 * (applier.ts); the coordinator's own observations (a server lost, a quarantine) and its
 * clients' reports (progress, bad slices) become board updates, warnings, metrics and log
 * events here, and any decision they cause goes through the same applier.
 */
export class Effects {
  /** Names, addresses and the roster (outcomes.ts). */
  readonly outcomes: MemberOutcomes;

  private readonly applier: DecisionApplier;

  constructor(private readonly p: EffectParts) {
    this.outcomes = new MemberOutcomes(p);
    this.applier = new DecisionApplier(p);
  }

  /** Scheduler decisions, made what the world sees (applier.ts): the one channel. */
  apply(decisions: Decision[]): void {
    this.applier.apply(decisions);
  }

  /**
   * A seeder learns that its session has started (`ack session-started`), so that it re-opens it
   * as started after a coordinator restart and the session is never gated again.
   */
  toldStarted(m: Member, session: string): void {
    this.applier.toldStarted(m, session);
  }

  /** Time passes: gates and linger, held-back servers tried again, sessions' sources checked. */
  tick(now: number): void {
    this.apply(this.p.scheduler.tick(now));
    this.apply(this.p.health.tick(now));
  }

  /** `m` could not reach the server it was assigned (`serverId`): a network fault, counted against it. */
  unreachable(serverId: string, m: Member, now: number): void {
    this.apply(this.p.health.unreachable(serverId, m.id, now));
  }

  /** Servers of the session that hold the whole image and can be given clients. */
  completeSources(s: SessionEntry): number {
    return this.p.health.completeSources(s);
  }

  /** A server serves anew: what its clients said about reaching it no longer holds. */
  reannounced(serverId: string, now: number): void {
    this.apply(this.p.health.reannounced(serverId, now));
  }

  /** A transfer's outcome, for the metrics. */
  counted(session: string, outcome: 'done' | 'failed'): void {
    this.p.metrics.transfer(session, outcome);
  }

  /**
   * A warning for the status board, about `session` when it is about one (`status --session`
   * shows only that session's). With `claim`, it is a client's report, shown as such.
   */
  warn(at: number, session: string | undefined, event: string, detail: string, claim?: ClientClaim): void {
    this.p.warnings.add({ at, event, detail, ...claim, ...(session ? { session } : {}) });
  }

  /**
   * A client's cumulative progress: its board line moves, the new bytes are credited to the
   * server serving it and counted in the metrics.
   */
  progressed(m: Member, slices: number, bytes: number, rate: number, now: number, traffic?: Partial<Traffic>): void {
    const v = m.view;
    if (!v) return;
    const fresh = { slices: Math.max(0, slices - v.slices), bytes: Math.max(0, bytes - v.bytes) };
    Object.assign(v, { slices, bytes, rate, updatedAt: now });
    this.trafficed(m, v, traffic ?? {});
    const serverId = this.p.scheduler.getClient(m.id)?.server; // the one record of who serves it
    const server = serverId ? this.p.members.get(serverId)?.view : undefined;
    if (server) server.bytesServed = (server.bytesServed ?? 0) + fresh.bytes;
    if (serverId && fresh.bytes > 0) this.apply(this.p.health.reached(serverId, now));
    this.p.metrics.progressed(m.session ?? '', fresh);
  }

  /** A client's wire and payload totals: what is new is added to its session's and to the metrics. */
  private trafficed(m: Member, v: NonNullable<Member['view']>, t: Partial<Traffic>): void {
    const fresh = {
      wire: Math.max(0, (t.wire ?? 0) - (v.wire ?? 0)),
      payload: Math.max(0, (t.payload ?? 0) - (v.payload ?? 0)),
    };
    if (t.wire !== undefined) v.wire = Math.max(v.wire ?? 0, t.wire);
    if (t.payload !== undefined) v.payload = Math.max(v.payload ?? 0, t.payload);
    const book = this.p.sessions.session(m.session ?? '');
    if (book) {
      book.traffic.wire += fresh.wire;
      book.traffic.payload += fresh.payload;
    }
    this.p.metrics.trafficked(m.session ?? '', fresh);
  }

  /** A server's connection closed, or it said it leaves: it serves no more. */
  serverGone(m: Member, now: number, how: { lost: true } | { lost: false; reason: string }): void {
    const srv = this.p.scheduler.getServer(m.id);
    if (!srv) return;
    // After the session's end its servers close (the seeder without a leave): that is the end
    // working, not a server lost or leaving, so no warning and no metric.
    if (this.p.scheduler.getSession(srv.session)?.state === 'ended') {
      this.p.log.debug({ peer: m.name, id: m.id, lost: how.lost }, 'server of an ended session gone');
    } else if (how.lost) {
      this.p.log.warn({ peer: m.name, id: m.id }, 'server lost');
      this.warn(now, srv.session, 'server-lost', `${m.name} disconnected`);
      this.p.metrics.serverLost(srv.session);
    } else {
      this.warn(now, srv.session, 'server-left', `${m.name} left (${how.reason})`);
    }
    this.p.health.forget(m.id);
    this.apply(this.p.scheduler.removeServer(m.id, now));
  }

  /** A client that stopped fetching leaves the queues, unless it is imaged (then it stays counted). */
  clientGone(m: Member, now: number): void {
    const c = this.p.scheduler.getClient(m.id);
    if (c && c.state !== 'imaged') this.apply(this.p.scheduler.removeClient(m.id, now));
  }

  /**
   * Bad slices a client reported against the server the coordinator assigned it (handlers check
   * that first). The server is quarantined once the policy is met: enough slices, from enough
   * distinct clients. The quarantine is kept on its slot, by id, across its reconnects.
   */
  badSlices(r: BadSliceReport, now: number): void {
    this.p.metrics.digestMismatches(r.session, r.count);
    const server = this.p.members.get(r.server);
    if (!server?.serving || r.count === 0) return;
    this.warn(
      now,
      r.session,
      'bad-slices',
      `${r.claim.reportedBy} got ${r.count} bad slices from ${server.name}`,
      r.claim,
    );
    const bad = server.serving.reportBadSlices(r.client.id, r.count, this.p.quarantine);
    if (!bad.quarantine) return;
    const reporters = server.serving.reporters.size;
    this.p.log.warn({ server: server.name, badSlices: bad.total, reporters }, 'server quarantined');
    this.warn(now, r.session, 'quarantined', `${server.name} sent ${bad.total} bad slices to ${reporters} clients`);
    this.p.scheduler.quarantineServer(r.server);
  }
}
