import type { Scheduler } from '../scheduler/scheduler.js';
import type { Decision } from '../scheduler/types.js';

/**
 * What the re-routing scheduler learns rates through (plan 14, decision 5): a pure
 * `noteRate(clientId, bytesPerSec, now)`; its moves come out of `tick(now)` as assigns with
 * `move: true`. Reached by feature test so the simulator runs against a scheduler without it too
 * (no moves then).
 */
interface RateAware {
  noteRate(clientId: string, bytesPerSec: number, now: number): unknown;
}

export type NoteRate = (clientId: string, bytesPerSec: number, now: number) => Decision[];

/** The scheduler's noteRate, or null when it has none. Any decisions it returns are passed on. */
export function rateFeed(scheduler: Scheduler): NoteRate | null {
  const s = scheduler as unknown as Partial<RateAware>;
  if (typeof s.noteRate !== 'function') return null;
  return (id, bps, now) => {
    const out = s.noteRate?.call(scheduler, id, bps, now);
    return Array.isArray(out) ? (out as Decision[]) : [];
  };
}

/** An assign that moves a client which is transferring to another server (keeping what it holds). */
export function isMove(d: Decision): boolean {
  return d.kind === 'assign' && (d as { move?: boolean }).move === true;
}
