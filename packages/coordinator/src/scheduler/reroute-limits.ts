// The numbers rerouting judges by (reroute.ts): how old a rate must be, how slow is slow, for how
// long, and how often a machine may be moved.

/**
 * A transfer is judged only once it is this old (the peer reports every 250 ms its rate over the
 * last second, or over the time since its bytes began when that is shorter).
 */
export const JUDGE_AFTER_MS = 500;
/**
 * The first head probe acts on rates this old already (a peer's first report): in a lone chain
 * everyone waits on the head, and the trade costs a fast head nothing, so a slow head is sent
 * behind the tail sooner. Every other judgement waits JUDGE_AFTER_MS.
 */
export const PROBE_AFTER_MS = 250;
/** A rate not refreshed for this long is not used (the peer reports every 250 ms while it fetches). */
export const RATE_FRESH_MS = 3000;
/** Slow relay: below this share of its server's receive rate (or the median) … */
export const SLOW_RELAY_SHARE = 0.6;
/**
 * … for this long: two ticks in a row (250 ms apart), each on a report of its own (peers report
 * every 250 ms). Every second a slow relay stays in a chain, the peers behind it fall behind by
 * most of a second for good (they cannot outrun their new server).
 */
export const SLOW_RELAY_MS = 250;
/**
 * Head probes a session makes at most: a probe made while the client's rate was still rising may
 * put a slow client first, and that one is probed in turn once its rate settles.
 */
export const MAX_HEAD_PROBES = 3;
/**
 * A head a probe put first is judged against the one it replaced only this long after the move:
 * its rate then covers a whole window (1 s) of its new stream, not the switch between servers.
 */
export const REPROBE_AFTER_MS = 1500;
/**
 * After the first probe, a head not this much faster than the one it replaced is probed once
 * more: the two first in the queue may both be slow (each then looks like the other, and the whole
 * lab went at their pace: simulator 4.33 × S/B). A lab where they are not pays one more trade
 * (~0.07 s); a slow seeder, which makes every head look alike, the same.
 */
export const PROBE_GAIN = 1.5;
/** Slow server: below this share of the session's reference rate … */
export const SLOW_SERVER_SHARE = 0.5;
/** … for this long, while another eligible server has a free slot. */
export const SLOW_SERVER_MS = 2000;
/**
 * A slow-server move must gain this much: without it, clients sharing equally loaded servers fairly
 * (each below half the one-client rate) shuffled between them in chains whenever a slot freed.
 */
export const MOVE_GAIN = 1 / SLOW_SERVER_SHARE;
/** At most one slow-server move per client in this long. */
export const MOVE_INTERVAL_MS = 10_000;
