/**
 * handlers/ owns what the coordinator does with each control message: one function per message
 * type (dispatch.ts routes them), judged against what the coordinator knows (claims.ts). A
 * handler reads the scheduler and asks it to decide through `decide`, whose decisions are always
 * applied (decisions/decide.ts); it never sends, logs or boards a decision itself.
 */
import type { Logger, StatusSnapshot } from '@cascade/common';
import type { Decide, SchedulerView } from '../decisions/decide.js';
import type { Effects } from '../decisions/effects.js';
import type { HelloPolicy } from '../net/hello-gate.js';
import type { MemberTable } from '../members/member-table.js';
import type { SessionStore } from '../sessions/session-store.js';

/** What handlers may tell Effects: observations and reports, never raw decisions to apply. */
export type Observations = Omit<Effects, 'apply' | 'tick'>;

/** What every message handler works with: the coordinator's state, and the channels to act on it. */
export interface HandlerContext {
  /** Read-only, plus notes that decide nothing. */
  scheduler: SchedulerView;
  /** The scheduler's deciding calls, each applied before it returns (the one channel). */
  decide: Decide;
  members: MemberTable;
  /** Every session's record (sessions/): `get(name)` is its opened image and opener. */
  sessions: SessionStore;
  effects: Observations;
  log: Logger;
  auth: HelloPolicy;
  status: (session?: string) => StatusSnapshot;
}
