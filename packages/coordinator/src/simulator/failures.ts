import { createPrng, sampleIndices } from './prng.js';

/** One peer that disappears (power loss, reboot, cable pulled) at a given moment. */
export interface PlannedFailure {
  /** Index of the peer, 0-based. */
  peer: number;
  atMs: number;
}

/**
 * Choose `round(fraction × peers)` distinct peers and a moment for each, uniform in
 * [0, windowMs). The same seed always gives the same plan.
 */
export function planFailures(peers: number, fraction: number, windowMs: number, seed: number): PlannedFailure[] {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`failure fraction must be in [0, 1], got ${fraction}`);
  const rng = createPrng(seed);
  const chosen = sampleIndices(rng, peers, Math.round(fraction * peers));
  return chosen.map((peer) => ({ peer, atMs: rng() * windowMs })).sort((a, b) => a.atMs - b.atMs || a.peer - b.peer);
}
