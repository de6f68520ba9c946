import type { Logger, StatusSnapshot } from '@cascade/common';
import type { Effects } from '../decisions/effects.js';
import type { HelloPolicy } from '../net/hello-gate.js';
import type { SessionRecord } from '../members/member.js';
import type { MemberTable } from '../members/member-table.js';
import type { Scheduler } from '../scheduler/scheduler.js';

/** What every message handler works with: the coordinator's state, and Effects to act on it. */
export interface HandlerContext {
  scheduler: Scheduler;
  members: MemberTable;
  /** Open (and ended) sessions' manifests, by session name. */
  sessions: Map<string, SessionRecord>;
  effects: Effects;
  log: Logger;
  auth: HelloPolicy;
  status: (session?: string) => StatusSnapshot;
}
