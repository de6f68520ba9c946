import type { Logger, SessionReport } from '@cascade/common';
import { reachableHost } from './addresses.js';
import type { Member, QuarantinePolicy, SessionRecord } from './member.js';
import type { MemberTable } from './members.js';
import type { CoordinatorMetrics } from './metrics.js';
import { MemberOutcomes } from './outcomes.js';
import type { Scheduler } from './scheduler/scheduler.js';
import type { Decision, SessionEntry } from './scheduler/types.js';
import type { ServerHealth } from './server-health.js';
import type { SessionBooks } from './session-book.js';
import type { WarningLog } from './warning-log.js';

export interface EffectParts {
  scheduler: Scheduler;
  members: MemberTable;
  sessions: ReadonlyMap<string, SessionRecord>;
  metrics: CoordinatorMetrics;
  warnings: WarningLog;
  books: SessionBooks;
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
 * The one place where what happened becomes what the world sees: scheduler decisions turn into
 * messages, board updates, metrics and log events here, and so do the coordinator's own
 * observations (a server lost, a quarantine) and its clients' reports (bad slices).
 */
export class Effects {
  /** Names, addresses and the roster (outcomes.ts). */
  readonly outcomes: MemberOutcomes;

  constructor(private readonly p: EffectParts) {
    this.outcomes = new MemberOutcomes(p);
  }

  apply(decisions: Decision[]): void {
    for (const d of decisions) {
      if (d.kind === 'assign') this.assign(d);
      else if (d.kind === 'queued') this.p.members.get(d.client)?.send({ type: 'queued', position: d.position });
      else if (d.kind === 'started') this.started(d);
      else if (d.kind === 'refused')
        this.p.members.get(d.client)?.send({ type: 'error', code: d.code, message: d.reason });
      else this.ended(d);
    }
  }

  /**
   * A seeder learns that its session has started (`ack session-started`), so that it re-opens it
   * as started after a coordinator restart and the session is never gated again.
   */
  toldStarted(m: Member, session: string): void {
    m.send({ type: 'ack', of: 'session-started', session });
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

  /** A warning for the status board. With `claim`, it is a client's report, shown as such. */
  warn(at: number, event: string, detail: string, claim?: ClientClaim): void {
    this.p.warnings.add({ at, event, detail, ...claim });
  }

  /**
   * A client's cumulative progress: its board line moves, the new bytes are credited to the
   * server serving it and counted in the metrics.
   */
  progressed(m: Member, slices: number, bytes: number, rate: number, now: number): void {
    const v = m.view;
    if (!v) return;
    const fresh = { slices: Math.max(0, slices - v.slices), bytes: Math.max(0, bytes - v.bytes) };
    Object.assign(v, { slices, bytes, rate, updatedAt: now });
    const server = v.serverId ? this.p.members.get(v.serverId)?.view : undefined;
    if (server) server.bytesServed = (server.bytesServed ?? 0) + fresh.bytes;
    if (v.serverId && fresh.bytes > 0) this.apply(this.p.health.reached(v.serverId, now));
    this.p.metrics.progressed(m.session ?? '', fresh);
  }

  /** A server's connection closed, or it said it leaves: it serves no more. */
  serverGone(m: Member, now: number, how: { lost: true } | { lost: false; reason: string }): void {
    const srv = this.p.scheduler.getServer(m.id);
    if (!srv) return;
    if (how.lost) {
      this.p.log.warn({ peer: m.name, id: m.id }, 'server lost');
      this.warn(now, 'server-lost', `${m.name} disconnected`);
      this.p.metrics.serverLost(srv.session);
    } else {
      this.warn(now, 'server-left', `${m.name} left (${how.reason})`);
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
    this.warn(now, 'bad-slices', `${r.claim.reportedBy} got ${r.count} bad slices from ${server.name}`, r.claim);
    const bad = server.serving.reportBadSlices(r.client.id, r.count, this.p.quarantine);
    if (!bad.quarantine) return;
    const reporters = server.serving.reporters.size;
    this.p.log.warn({ server: server.name, badSlices: bad.total, reporters }, 'server quarantined');
    this.warn(now, 'quarantined', `${server.name} sent ${bad.total} bad slices to ${reporters} clients`);
    this.p.scheduler.quarantineServer(r.server);
  }

  private started(d: Extract<Decision, { kind: 'started' }>): void {
    this.p.log.info({ session: d.session, reason: d.reason }, 'session started');
    for (const m of this.p.members.connected(d.session)) if (m.role === 'seeder') this.toldStarted(m, d.session);
  }

  private ended(d: Extract<Decision, { kind: 'ended' }>): void {
    const imaged = this.p.scheduler.getSession(d.session)?.imaged;
    this.p.health.ended(d.session);
    const report = this.p.report(d.session);
    this.p.log.info({ session: d.session, reason: d.reason, imaged, summary: report?.summary }, 'session ended');
    const msg = { type: 'session-ended', session: d.session, reason: d.reason } as const;
    for (const m of this.p.members.connected(d.session))
      m.send(m.role === 'seeder' && report ? { ...msg, report } : msg);
  }

  private assign(d: Extract<Decision, { kind: 'assign' }>): void {
    const { session, client, server, at } = d;
    const manifest = this.p.sessions.get(session)?.manifest;
    const m = this.p.members.get(client);
    const slot = this.p.members.get(server)?.serving;
    if (!manifest || !slot || !m?.conn) {
      // Cannot reach one side: undo, and let the scheduler hand the client out again.
      this.p.log.warn({ client, server }, 'assignment could not be delivered');
      const undo = m?.conn ? this.p.scheduler.transferFailed(client, at) : this.p.scheduler.removeClient(client, at);
      this.apply(undo);
      return;
    }
    const ticket = slot.ticket({ session, imageId: manifest.imageId, client, server }, at + this.p.ticketTtlMs);
    const srv = this.p.members.get(server);
    const serverName = srv?.name ?? server;
    const host = reachableHost(slot.host, { ip: srv?.ip ?? null }, { ip: m.ip, localAddress: m.conn.localAddress });
    m.assignment = { session, server, reported: false, ...(d.move && d.from ? { movedFrom: d.from } : {}) };
    const move = d.move ? { move: true } : {};
    m.send({ type: 'assign', server: { id: server, name: serverName, host, port: slot.port }, ticket, ...move });
    if (m.view) Object.assign(m.view, { server: serverName, serverId: server, assignedAt: at });
    this.p.metrics.transfer(session, d.move ? 'moved' : 'assigned');
    const rewritten = host !== slot.host ? { advertised: slot.host } : {};
    if (d.move) this.moved(d, m.name, serverName);
    else this.p.log.info({ session, client: m.name, server: serverName, host, ...rewritten }, 'assigned');
  }

  /** A transfer moved off a slow machine (reroute.ts), for an operator to follow. */
  private moved(d: Extract<Decision, { kind: 'assign' }>, client: string, to: string): void {
    const from = d.from ? this.p.members.name(d.from) : null;
    const rates = { rate: Math.round(d.rate ?? 0), ref: Math.round(d.ref ?? 0) };
    this.p.log.info({ session: d.session, client, from, to, reason: d.reason, ...rates }, 'moved');
  }
}
