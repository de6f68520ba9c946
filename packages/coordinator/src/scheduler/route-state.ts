import type { ClientEntry, RouteState, SessionEntry } from './types.js';

/* A client's route state and the small judgements reroute.ts makes of rates (pure). */

/**
 * A rate this much above the report before it is still rising (a connection ramping up: its
 * sender's congestion window grows once per round trip, which a deep queue on the way makes long),
 * and is not judged yet.
 */
const RISING = 1.25;
/** The best rate the session has seen halves over this long (the reference for slow servers). */
const BEST_HALF_LIFE_MS = 30_000;

/** The route state of a client, created on its first rate. */
export function route(c: ClientEntry): RouteState {
  c.route ??= {
    rate: null,
    rateAt: 0,
    prevRate: null,
    below: null,
    lagging: null,
    movedAt: null,
    moves: 0,
    slow: false,
    noRelay: false,
  };
  return c.route;
}

/** The session's best recent rate, decayed to `now`. */
export function best(s: SessionEntry, now: number): number {
  const b = s.bestRate;
  return b ? b.rate * 0.5 ** (Math.max(0, now - b.at) / BEST_HALF_LIFE_MS) : 0;
}

export function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/**
 * Ahead of its own server, still receiving (a head a probe sent behind the tail): it waits for
 * that server, and its rate says nothing of its own link.
 */
export function waits(c: ClientEntry, server: ClientEntry | undefined): boolean {
  return server?.state === 'transferring' && c.held > server.held;
}

/** Its rate rose well above the report before it (ramping up): not judged yet. */
export function rising(r: RouteState): boolean {
  return r.rate !== null && r.prevRate !== null && r.rate > RISING * r.prevRate;
}
