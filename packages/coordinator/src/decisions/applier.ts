/**
 * decisions/ owns the one channel from what was decided to what the world sees: the applier
 * (this file) turns every scheduler decision into messages, board updates, metrics and log
 * events; handlers reach the scheduler's deciding calls only through `decide` (decide.ts),
 * which always applies, and report observations to Effects (effects.ts), which applies too.
 */
import { reachableHost } from '../members/addresses.js';
import type { Member } from '../members/member.js';
import type { Decision } from '../scheduler/types.js';
import type { EffectParts } from './effects.js';

/** Every kind of decision, and what the world sees of it. */
export class DecisionApplier {
  constructor(private readonly p: Omit<EffectParts, 'warnings' | 'quarantine'>) {}

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
    m.assignment = { session, server, at, reported: false, ...(d.move && d.from ? { movedFrom: d.from } : {}) };
    const move = d.move ? { move: true } : {};
    m.send({ type: 'assign', server: { id: server, name: serverName, host, port: slot.port }, ticket, ...move });
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
