import type { Scheduler } from '../scheduler/scheduler.js';
import type { Decision } from '../scheduler/types.js';

/**
 * The scheduler as message handlers see it: they read it, and note what clients report (held
 * slices, rates), which decides nothing. Every call that decides goes through `Decide`.
 */
export type SchedulerView = Pick<
  Scheduler,
  'getSession' | 'getClient' | 'getServer' | 'sessionNames' | 'nextDeadline' | 'noteHeld' | 'noteRate'
>;

/** Names of the scheduler's calls that return decisions. */
type DecidingCall = {
  [K in keyof Scheduler]: Scheduler[K] extends (...args: never[]) => Decision[] ? K : never;
}[keyof Scheduler];

/**
 * Every scheduler call that decides, with its decisions applied (Effects.apply) before it
 * returns. Handlers hold this and a `SchedulerView`, never the Scheduler itself, so a decision a
 * handler causes cannot be left unapplied: there is no call that hands one back to forget.
 */
export type Decide = { [K in DecidingCall]: (...args: Parameters<Scheduler[K]>) => void };

/** One entry per deciding call: the compiler checks the list is complete. */
const DECIDING: Record<DecidingCall, true> = {
  openSession: true,
  setOptions: true,
  startSession: true,
  endSession: true,
  addServer: true,
  removeServer: true,
  suspendServer: true,
  enqueueClient: true,
  resumeTransfer: true,
  removeClient: true,
  transferDone: true,
  transferFailed: true,
  tick: true,
};

/** `scheduler`'s deciding calls, each followed by `apply` of what it decided. */
export function decider(scheduler: Scheduler, apply: (decisions: Decision[]) => void): Decide {
  const calls = Object.keys(DECIDING).map((name) => {
    const call = (args: unknown[]): Decision[] =>
      (scheduler[name as DecidingCall] as (...a: unknown[]) => Decision[]).apply(scheduler, args);
    return [
      name,
      (...args: unknown[]): void => {
        apply(call(args));
      },
    ];
  });
  return Object.fromEntries(calls) as Decide;
}
