import type { Logger, StatusSnapshot } from '@cascade/common';
import type { Effects } from '../decisions/effects.js';
import type { HelloPolicy } from '../net/hello-gate.js';
import type { MemberTable } from '../members/member-table.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { SessionStore } from '../sessions/session-store.js';

/** What every message handler works with: the coordinator's state, and Effects to act on it. */
export interface HandlerContext {
  scheduler: Scheduler;
  members: MemberTable;
  /** Every session's record (sessions/): `get(name)` is its opened image and opener. */
  sessions: SessionStore;
  effects: Effects;
  log: Logger;
  auth: HelloPolicy;
  status: (session?: string) => StatusSnapshot;
}
