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
  /** The kill variant: when the bench killed a mid-chain relay (ms after the seeder's launch). */
  kill?: { atMs: number };
}

export interface SlowHost {
  /** Receivers whose link runs at `mbit` both ways (the others at the lab's rate). */
  count: number;
  mbit: number;
}

/** The simulator's run for a cascade row (fluid model: per-host links, FIFO link queues as the lab's; cut-through relays). */
function run(i: PredictInput, slow?: SlowHost) {
  const link = (i.mbit * 1e6) / 8;
  const slowBps = slow ? (slow.mbit * 1e6) / 8 : 0;
  return simulate({
    peers: i.peers,
    seederCapacity: i.seederCapacity,
    // relay: imaged peers serve 3 (the default), downloading ones `peerCapacity` (--relay-capacity)
    peerCapacity: i.mode === 'relay' ? 3 : i.peerCapacity,
    ...(i.mode === 'relay' ? { relayCapacity: i.peerCapacity } : {}),
    mode: i.mode,
    sliceBytes: i.sliceBytes,
    // The kill row: the relay in the middle of the chain, lost when the bench killed it; its
    // orphan sees the connection reset at once and rejoins within about half a second.
    ...(i.kill ? { losses: [{ index: Math.ceil(i.peers / 2), atMs: i.kill.atMs }], rejoinMs: 500 } : {}),
    model: {
      kind: 'fluid',
      imageBytes: i.size,
      linkBps: link,
      // The lab's HTB classes queue in their default tail-drop FIFO (no fq_codel here).
      queue: 'fifo',
      // The slow-host lab: its slow peers join first (the head of the queue).
      ...(slow
        ? { hosts: Array.from({ length: slow.count }, (_, k) => ({ index: k + 1, downBps: slowBps, upBps: slowBps })) }
        : {}),
    },
  });
}

/** The simulator's makespan ÷ S/B for a cascade row. */
export function predict(i: PredictInput): number {
  return run(i).ratio;
}

/** The slow-host lab: the fast peers' makespan ÷ S/B and the slow peers' makespan ÷ their own S/B. */
export function predictSlowHost(i: PredictInput, slow: SlowHost): { fast: number; slow: number } | null {
  const r = run(i, slow);
  const own = (r.hosts ?? []).flatMap((h) => (h.ratio === null ? [] : [h.ratio]));
  if (r.othersMakespanMs === undefined || own.length === 0) return null;
  return { fast: r.othersMakespanMs / r.lowerBoundMs, slow: Math.max(...own) };
}
