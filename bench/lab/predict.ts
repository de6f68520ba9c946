import { simulate } from '@cascade/coordinator';

/** What the simulator needs to know of a cascade row. */
export interface PredictInput {
  size: number;
  peers: number;
  mode: 'classic' | 'relay';
  seederCapacity: number;
  /** Classic: capacity of an imaged peer; relay: what a relay serves while downloading. */
  peerCapacity: number;
  sliceBytes: number;
  mbit: number;
  /** The kill variant: the share of peers removed (at a random moment of the run). */
  fail?: number;
}

export interface SlowHost {
  /** Receivers whose link runs at `mbit` both ways (the others at the lab's rate). */
  count: number;
  mbit: number;
}

/** The simulator's makespan ÷ S/B (fluid model: max-min fair uplinks) for a cascade row. */
export function predict(i: PredictInput): number {
  const r = simulate({
    peers: i.peers,
    seederCapacity: i.seederCapacity,
    peerCapacity: i.peerCapacity,
    mode: i.mode,
    sliceBytes: i.sliceBytes,
    ...(i.fail ? { fail: i.fail } : {}),
    model: { kind: 'fluid', imageBytes: i.size, linkBps: (i.mbit * 1e6) / 8 },
  });
  return r.ratio;
}

/**
 * SLOW-HOST SIMULATOR SPOT (wired by the lead at the merge). Helper "sim" is adding per-host link
 * rates and cut-through relays to `simulate()`; until then the simulator cannot model one slow
 * receiver, so this returns null and the table prints "n/a". At the merge: run `simulate()` with
 * `slow.count` peers at `slow.mbit` (both ways) and the rest at `i.mbit`, and return the fast
 * peers' makespan ÷ S/B and the slow peers' makespan ÷ their own S/B (size × 8 / slow.mbit).
 */
export function predictSlowHost(i: PredictInput, slow: SlowHost): { fast: number; slow: number } | null {
  void i;
  void slow;
  return null;
}
