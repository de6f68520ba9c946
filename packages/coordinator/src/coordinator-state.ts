import type { Logger } from '@cascade/common';
import { COORDINATOR_DEFAULTS as d } from './coordinator-options.js';
import { decider } from './decisions/decide.js';
import { Effects } from './decisions/effects.js';
import type { HandlerContext } from './handlers/context.js';
import type { HelloPolicy } from './net/hello-gate.js';
import { MemberTable, type MemberRetention } from './members/member-table.js';
import { CoordinatorMetrics } from './status/metrics.js';
import { pruneSessions } from './sessions/retention.js';
import { Scheduler } from './scheduler/scheduler.js';
import { ServerHealth } from './health/server-health.js';
import { SessionStore } from './sessions/session-store.js';
import { SourceWatch } from './health/source-watch.js';
import { buildStatus, sessionReport, type StatusSnapshot, type StatusSources } from './status/status.js';
import { UnreachableReports, type UnreachableOptions } from './health/unreachable-reports.js';
import { WarningLog } from './status/warning-log.js';

export interface StateOptions {
  log: Logger;
  now: () => number;
  auth?: HelloPolicy;
  ticketTtlMs?: number;
  quarantineAfter?: number;
  /** Distinct assigned clients whose bad-slice reports quarantine a server. */
  quarantineReporters?: number;
  unreachable?: Partial<UnreachableOptions>;
  /** How long a session may be without a complete source before it is said (source-watch.ts). */
  sourceGraceMs?: number;
  /** How long departed members' records (and secrets) are kept (members/member-table.ts). */
  retention?: MemberRetention;
  /** Node process metrics in /metrics (off in unit tests). */
  processMetrics?: boolean;
}

/**
 * Everything the coordinator knows, wired together, with no socket: the scheduler, the member
 * table, the session store, warnings, server health, metrics and Effects, and the
 * HandlerContext the message handlers work with. The live coordinator puts a ws server in
 * front of it; unit tests drive it with stub connections.
 */
export class CoordinatorState {
  readonly scheduler = new Scheduler();
  readonly members: MemberTable;
  readonly sessions = new SessionStore(this.scheduler);
  readonly warnings = new WarningLog();
  readonly sources: SourceWatch;
  readonly health: ServerHealth;
  readonly metrics: CoordinatorMetrics;
  readonly effects: Effects;
  readonly ctx: HandlerContext;

  constructor(private readonly o: StateOptions) {
    this.members = new MemberTable(o.retention);
    const { scheduler, members, sessions, warnings } = this;
    const log = o.log;
    this.sources = new SourceWatch(o.sourceGraceMs);
    const reports = new UnreachableReports(o.unreachable);
    this.health = new ServerHealth({ scheduler, members, reports, sources: this.sources, warnings, log });
    this.metrics = new CoordinatorMetrics(() => this.status(), { processMetrics: o.processMetrics ?? true });
    this.effects = new Effects({
      ...{ scheduler, members, sessions, metrics: this.metrics, warnings, log, health: this.health },
      report: (session) => sessionReport(this.statusSources(), session, o.now()),
      ticketTtlMs: o.ticketTtlMs ?? d.ticketTtlMs,
      quarantine: {
        slices: o.quarantineAfter ?? d.quarantineAfter,
        reporters: o.quarantineReporters ?? d.quarantineReporters,
      },
    });
    const { effects } = this;
    const decide = decider(scheduler, (d) => effects.apply(d));
    this.ctx = {
      scheduler,
      decide,
      members,
      sessions,
      effects,
      log,
      auth: o.auth ?? {},
      status: (s) => this.status(s),
    };
  }

  status(session?: string): StatusSnapshot {
    return buildStatus(this.statusSources(), this.o.now(), session);
  }

  /** Time passes: gates, linger, held-back servers, sessions' sources; old sessions forgotten. */
  tick(): void {
    this.effects.tick(this.o.now());
    pruneSessions(this, undefined, this.o.now());
  }

  private statusSources(): StatusSources {
    const { scheduler, sessions, health, sources } = this;
    return {
      ...{ scheduler, sessions },
      member: (id: string) => this.members.get(id),
      health: {
        isUnreachable: (id) => health.isUnreachable(id),
        completeSources: (s) => health.completeSources(s),
        sourceMissing: (name) => sources.isWithout(name),
      },
      warnings: this.warnings.list(),
    };
  }
}
