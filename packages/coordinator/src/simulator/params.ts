import { checkModel, type SimModel } from './model.js';

export type RelayMode = 'classic' | 'relay';

/** How a relay passes on what it receives. */
export type Forwarding = 'cut-through' | 'store-and-forward';

export interface SimulationParams {
  peers: number;
  seederCapacity: number;
  /** Clients an imaged peer serves at once. */
  peerCapacity: number;
  /** Relay mode: clients a peer serves while still downloading. Default min(peerCapacity, 1), as a peer does. */
  relayCapacity?: number;
  mode: RelayMode;
  model: SimModel;
  /** Slice size in bytes (what a lost transfer loses; store-and-forward's hop lag). Default 4 MiB. */
  sliceBytes?: number;
  /**
   * Relay mode: 'cut-through' (default) forwards bytes as they arrive, a hop lagging `hopLagBytes`;
   * 'store-and-forward' forwards a slice once it is whole, a hop lagging one slice.
   */
  forward?: Forwarding;
  /** Cut-through: bytes a hop lags behind its upstream. Default HOP_LAG_BYTES + HOP_LAG_MS at the link rate. */
  hopLagBytes?: number;
  /**
   * Fluid model: every `rateTickMs` each transferring client's rate and held slices go to the
   * scheduler (noteRate, noteHeld) and its tick runs, which may move clients (re-routing).
   * 0 turns it off. Default 250 (peers report progress every 250 ms) up to
   * REROUTE_MAX_PEERS peers, 0 beyond: the scheduler's tick reads every client of the session.
   */
  rateTickMs?: number;
  /** Peers lost at given moments (SIGKILL, power): index 1..peers, in addition to `fail`. */
  losses?: Array<{ index: number; atMs: number }>;
  /**
   * A lost server's clients rejoin the queue this long after it died (noticing the closed
   * connection, reporting failed). Default 0.
   */
  rejoinMs?: number;
  /** Fraction of peers removed at random moments, 0..1. Default 0. */
  fail?: number;
  /** Seed of the failure plan. Default 1. */
  seed?: number;
}

export const DEFAULT_SLICE_BYTES = 4 * 1024 * 1024;
/** Cut-through: bytes in flight on a hop (socket buffers, the read in progress). */
export const HOP_LAG_BYTES = 64 * 1024;
/** Cut-through: time a hop adds (a read, a write, the wire), taken at the link rate. */
export const HOP_LAG_MS = 1;
export const DEFAULT_RATE_TICK_MS = 250;
/** Re-routing is simulated by default up to this many peers (pass `rateTickMs` to force it). */
export const REROUTE_MAX_PEERS = 10_000;

/** The rate tick a run uses: none in the fixed model, the default up to REROUTE_MAX_PEERS. */
export function rateTick(p: SimulationParams): number {
  if (p.model.kind !== 'fluid') return 0;
  return p.rateTickMs ?? (p.peers <= REROUTE_MAX_PEERS ? DEFAULT_RATE_TICK_MS : 0);
}

/** Throws a RangeError naming the first impossible value. */
export function checkParams(p: SimulationParams): void {
  const whole = (v: number, what: string, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${what} must be an integer ≥ ${min}, got ${v}`);
  };
  whole(p.peers, 'peers', 0);
  whole(p.seederCapacity, 'seeder capacity', 1);
  whole(p.peerCapacity, 'peer capacity', 0);
  if (p.relayCapacity !== undefined) whole(p.relayCapacity, 'relay capacity', 0);
  if (p.sliceBytes !== undefined) whole(p.sliceBytes, 'slice size', 1);
  if (p.hopLagBytes !== undefined) whole(p.hopLagBytes, 'hop lag', 0);
  const tick = p.rateTickMs ?? DEFAULT_RATE_TICK_MS;
  if (!(tick >= 0 && Number.isFinite(tick))) throw new RangeError(`rate tick must be ≥ 0 ms, got ${tick}`);
  for (const l of p.losses ?? []) {
    if (!Number.isInteger(l.index) || l.index < 1 || l.index > p.peers)
      throw new RangeError(`a lost peer's index must be 1..${p.peers}, got ${l.index}`);
    if (!(l.atMs >= 0 && Number.isFinite(l.atMs))) throw new RangeError(`a loss time must be ≥ 0 ms, got ${l.atMs}`);
  }
  const rejoin = p.rejoinMs ?? 0;
  if (!(rejoin >= 0 && Number.isFinite(rejoin))) throw new RangeError(`rejoin delay must be ≥ 0 ms, got ${rejoin}`);
  const fail = p.fail ?? 0;
  if (!(fail >= 0 && fail < 1)) throw new RangeError(`failure fraction must be in [0, 1), got ${fail}`);
  if (p.mode !== 'classic' && p.mode !== 'relay')
    throw new RangeError(`mode must be classic or relay, got ${String(p.mode)}`);
  const forward = p.forward ?? 'cut-through';
  if (forward !== 'cut-through' && forward !== 'store-and-forward')
    throw new RangeError(`forwarding must be cut-through or store-and-forward, got ${String(forward)}`);
  checkModel(p.model, p.peers);
}

/** A relay hop's lag in bytes: a slice (store-and-forward), or the bytes in flight (cut-through). */
export function hopLag(p: SimulationParams, sliceBytes: number, linkPerMs: number): number {
  if ((p.forward ?? 'cut-through') === 'store-and-forward') return sliceBytes;
  return p.hopLagBytes ?? HOP_LAG_BYTES + HOP_LAG_MS * linkPerMs;
}
