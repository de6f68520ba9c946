import type { CoordinatorMessage, Logger } from '@cascade/common';
import type { Member, SessionRecord } from './member.js';
import type { MemberTable } from './members.js';
import type { CoordinatorMetrics } from './metrics.js';
import type { Scheduler } from './scheduler/scheduler.js';
import type { Decision } from './scheduler/types.js';
import type { WarningLog } from './warning-log.js';

export interface EffectParts {
  scheduler: Scheduler;
  members: MemberTable;
  sessions: ReadonlyMap<string, SessionRecord>;
  metrics: CoordinatorMetrics;
  warnings: WarningLog;
  log: Logger;
  ticketTtlMs: number;
  /** Bad slices reported against one server before it is quarantined. */
  quarantineAfter: number;
}

/** A client's report about its server: who says it, and the code it reported (its claim, not ours). */
export interface ClientClaim {
  reportedBy: string;
  code: string;
}

/**
 * The one place where what happened becomes what the world sees: scheduler decisions turn into
 * messages, board updates, metrics and log events here, and so do the coordinator's own
 * observations (a server lost, a quarantine) and its clients' reports (bad slices).
 */
export class Effects {
  constructor(private readonly p: EffectParts) {}

  apply(decisions: Decision[]): void {
    for (const d of decisions) {
      if (d.kind === 'assign') this.assign(d);
      else if (d.kind === 'queued') this.p.members.get(d.client)?.send({ type: 'queued', position: d.position });
      else if (d.kind === 'started') this.p.log.info({ session: d.session, reason: d.reason }, 'session started');
      else if (d.kind === 'refused')
        this.p.members.get(d.client)?.send({ type: 'error', code: d.code, message: d.reason });
      else this.ended(d);
    }
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
    this.apply(this.p.scheduler.removeServer(m.id, now));
  }

  /** A client that stopped fetching leaves the queues, unless it is imaged (then it stays counted). */
  clientGone(m: Member, now: number): void {
    const c = this.p.scheduler.getClient(m.id);
    if (c && c.state !== 'imaged') this.apply(this.p.scheduler.removeClient(m.id, now));
  }

  /** Bad slices a client reported against the server it was assigned; quarantine after too many. */
  badSlices(serverId: string, count: number, session: string, now: number, claim: ClientClaim): void {
    this.p.metrics.digestMismatches(session, count);
    const server = this.p.members.get(serverId);
    if (!server?.serving || count === 0) return;
    this.warn(now, 'bad-slices', `${claim.reportedBy} got ${count} bad slices from ${server.name}`, claim);
    const bad = server.serving.reportBadSlices(count, this.p.quarantineAfter);
    if (!bad.quarantine) return;
    this.p.log.warn({ server: server.name, badSlices: bad.total }, 'server quarantined');
    this.warn(now, 'quarantined', `${server.name} sent ${bad.total} bad slices`);
    this.p.scheduler.quarantineServer(serverId);
  }

  private ended(d: Extract<Decision, { kind: 'ended' }>): void {
    const imaged = this.p.scheduler.getSession(d.session)?.imaged;
    this.p.log.info({ session: d.session, reason: d.reason, imaged }, 'session ended');
    this.broadcast(d.session, { type: 'session-ended', session: d.session, reason: d.reason });
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
    const serverName = this.p.members.name(server);
    m.send({ type: 'assign', server: { id: server, name: serverName, host: slot.host, port: slot.port }, ticket });
    if (m.view) Object.assign(m.view, { server: serverName, serverId: server, assignedAt: at });
    this.p.metrics.transfer(session, 'assigned');
    this.p.log.info({ session, client: m.name, server: serverName }, 'assigned');
  }

  private broadcast(session: string, msg: CoordinatorMessage): void {
    for (const m of this.p.members.connected(session)) m.send(msg);
  }
}
