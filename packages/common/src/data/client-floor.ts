import type { ClientStats } from './slice-server.js';

/**
 * The rate floor a full slice server holds its clients to (issue 29, finding 4): a client that,
 * over a whole window, took less than `bytesPerSec` while every slot was taken (others wait for
 * one) is dropped, so that a client sending one GET a minute cannot hold a slot for ever.
 */
export interface ClientFloorOptions {
  bytesPerSec: number;
  windowMs: number;
}

export const CLIENT_FLOOR_DEFAULTS: ClientFloorOptions = { bytesPerSec: 32 * 1024, windowMs: 20_000 };

/** Where a client stood when its current window began. */
export interface FloorMark {
  at: number;
  bytes: number;
}

/**
 * Judge one client at `now`: 'slow' once a whole window has passed below the floor while the
 * server was full; otherwise the mark to keep (a new window starts once one has passed).
 */
export function judgeClient(
  stats: ClientStats,
  mark: FloorMark,
  full: boolean,
  floor: ClientFloorOptions,
  now: number,
): FloorMark | 'slow' {
  const elapsed = now - mark.at;
  if (elapsed < floor.windowMs) return mark;
  const rate = ((stats.bytes - mark.bytes) * 1000) / elapsed;
  if (full && rate < floor.bytesPerSec) return 'slow';
  return { at: now, bytes: stats.bytes };
}
