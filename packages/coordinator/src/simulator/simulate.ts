import { Scheduler } from '../scheduler/scheduler.js';
import type { Decision } from '../scheduler/types.js';
import { EventQueue } from './event-queue.js';
import { planFailures, type PlannedFailure } from './failures.js';
import { FlowNetwork, type FlowHost } from './flow-network.js';
import { checkModel, hostRates, type HostRates, type SimModel } from './model.js';

export type RelayMode = 'classic' | 'relay';

export interface SimulationParams {
  peers: number;
  seederCapacity: number;
  peerCapacity: number;
  mode: RelayMode;
  model: SimModel;
  /** Slice size in bytes (relay lag, and what a lost transfer loses). Default 4 MiB. */
  sliceBytes?: number;
  /** Fraction of peers removed at random moments, 0..1. Default 0. */
  fail?: number;
  /** Seed of the failure plan. Default 1. */
  seed?: number;
}

export interface ProgressPoint {
  atMs: number;
  imaged: number;
}

export interface SimulationResult {
  mode: RelayMode;
  peers: number;
  /** When the last surviving peer was imaged. */
  makespanMs: number;
  /** When the last event happened (after the makespan only if peers were lost after it, or the run got stuck). */
  lastEventMs: number;
  /** S/B: one uncontended transfer. */
  lowerBoundMs: number;
  /** makespan / lower bound. */
  ratio: number;
  /** Machines imaged (including any that were lost after they were imaged). */
  imaged: number;
  /** Peers removed by --fail. */
  failed: number;
  survivors: number;
  survivorsImaged: number;
  /** Transfers that lost their server and rejoined the queue at its head. */
  retries: number;
  assignments: number;
  events: number;
  /** Every surviving peer was imaged. */
  complete: boolean;
  /**
   * When not complete: the state in which events ran out (a scheduler liveness problem: clients
   * still waiting, or transfers that can never progress, although nothing else will happen).
   */
  stuck?: { waiting: number; transferring: number; serversWithFreeSlots: number };
  /** Machines imaged over time, one point per moment the count changed (from the scheduler). */
  progression: ProgressPoint[];
  /** The same run without failures (only when peers were removed). */
  withoutFailures?: { makespanMs: number; ratio: number };
}

export const DEFAULT_SLICE_BYTES = 4 * 1024 * 1024;
const SESSION = 'simulation';

/**
 * Simulate imaging `peers` machines through the live Scheduler. With `fail > 0` it first runs
 * without failures to learn the makespan, then removes peers at random moments within it.
 */
export function simulate(params: SimulationParams): SimulationResult {
  checkParams(params);
  const fraction = params.fail ?? 0;
  if (fraction === 0) return new Simulation(params, []).run();
  const baseline = new Simulation(params, []).run();
  const plan = planFailures(params.peers, fraction, baseline.makespanMs, params.seed ?? 1);
  const result = new Simulation(params, plan).run();
  result.withoutFailures = { makespanMs: baseline.makespanMs, ratio: baseline.ratio };
  return result;
}

function checkParams(p: SimulationParams): void {
  const whole = (v: number, what: string, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${what} must be an integer ≥ ${min}, got ${v}`);
  };
  whole(p.peers, 'peers', 0);
  whole(p.seederCapacity, 'seeder capacity', 1);
  whole(p.peerCapacity, 'peer capacity', 0);
  if (p.sliceBytes !== undefined) whole(p.sliceBytes, 'slice size', 1);
  const fail = p.fail ?? 0;
  if (!(fail >= 0 && fail < 1)) throw new RangeError(`failure fraction must be in [0, 1), got ${fail}`);
  if (p.mode !== 'classic' && p.mode !== 'relay')
    throw new RangeError(`mode must be classic or relay, got ${String(p.mode)}`);
  checkModel(p.model);
}

type SimEvent = { kind: 'transfer'; host: FlowHost; version: number } | { kind: 'fail'; host: FlowHost };

/** One run: the scheduler decides, the flow network moves bytes, the event queue keeps time. */
class Simulation {
  private readonly scheduler = new Scheduler();
  private readonly queue = new EventQueue<SimEvent>();
  private readonly rates: HostRates;
  private readonly flow: FlowNetwork;
  private readonly hosts = new Map<string, FlowHost>();
  private readonly peers: FlowHost[] = [];
  private readonly gone = new Set<string>();
  private readonly pending: Decision[] = [];
  private draining = false;
  private now = 0;
  private lastDone = 0;
  private retries = 0;
  private assignments = 0;

  constructor(
    private readonly params: SimulationParams,
    private readonly failures: readonly PlannedFailure[],
  ) {
    const sliceBytes = params.sliceBytes ?? DEFAULT_SLICE_BYTES;
    this.rates = hostRates(params.model, sliceBytes);
    this.flow = new FlowNetwork({
      imageBytes: this.rates.imageBytes,
      sliceBytes,
      schedule: (host, time) =>
        this.queue.push(snapTime(time, this.now), { kind: 'transfer', host, version: host.version }),
    });
  }

  run(): SimulationResult {
    this.start();
    return this.result(this.loop());
  }

  /** The seeder serves, every peer joins the client queue at time 0, failures are scheduled. */
  private start(): void {
    const { imageBytes, seederUp, peerUp, peerDown } = this.rates;
    const seeder = this.flow.host('seeder', seederUp, Infinity, true);
    this.hosts.set(seeder.id, seeder);
    for (let i = 0; i < this.params.peers; i++) {
      const peer = this.flow.host(`peer-${i + 1}`, peerUp, peerDown);
      this.hosts.set(peer.id, peer);
      this.peers.push(peer);
    }
    for (const f of this.failures) this.queue.push(f.atMs, { kind: 'fail', host: this.peers[f.peer] as FlowHost });
    const image = { imageId: 'simulated', size: imageBytes, name: 'simulated image' };
    this.apply(this.scheduler.openSession(SESSION, image, { relay: this.params.mode === 'relay' }, 0));
    this.apply(this.scheduler.addServer(SESSION, seeder.id, this.params.seederCapacity, 0));
    for (const peer of this.peers) this.apply(this.scheduler.enqueueClient(SESSION, peer.id, 0));
    this.flow.flush(0);
  }

  /** Process events in time order until none is left; returns how many there were. */
  private loop(): number {
    const budget = 1_000 * (this.params.peers + 1) + 1_000_000;
    let events = 0;
    for (let e = this.queue.pop(); e; e = this.queue.pop()) {
      if (++events > budget) throw new Error(`simulation did not settle after ${budget} events`);
      this.now = e.time;
      const ev = e.item;
      if (ev.kind === 'fail') this.lose(ev.host);
      else if (ev.version === ev.host.version) this.transferEvent(ev.host);
      this.flow.flush(this.now);
    }
    return events;
  }

  /** A transfer's event is due: it completed (the peer now serves the whole image), or its relay regime changed. */
  private transferEvent(host: FlowHost): void {
    if (!this.flow.due(host, this.now)) return;
    this.flow.finish(host, this.now);
    this.lastDone = this.now;
    this.apply(this.scheduler.transferDone(host.id, this.now));
    this.apply(this.scheduler.addServer(SESSION, host.id, this.params.peerCapacity, this.now));
  }

  /** A peer disappears: its own transfer stops, and its clients rejoin the queue at the head. */
  private lose(host: FlowHost): void {
    if (this.gone.has(host.id)) return;
    this.gone.add(host.id);
    const orphans = [...host.children];
    if (host.parent) this.flow.detach(host, this.now);
    for (const c of orphans) this.flow.detach(c, this.now);
    if (this.scheduler.getServer(host.id)) this.apply(this.scheduler.removeServer(host.id, this.now));
    if (this.scheduler.getClient(host.id)?.state !== 'imaged')
      this.apply(this.scheduler.removeClient(host.id, this.now));
    for (const c of orphans) {
      this.retries++;
      this.apply(this.scheduler.transferFailed(c.id, this.now));
    }
  }

  /** Act on decisions in order; decisions made while acting are queued behind them. */
  private apply(decisions: Decision[]): void {
    for (const d of decisions) this.pending.push(d);
    if (this.draining) return;
    this.draining = true;
    for (let i = 0; i < this.pending.length; i++) {
      const d = this.pending[i] as Decision;
      if (d.kind === 'assign') this.assign(d.client, d.server);
    }
    this.pending.length = 0;
    this.draining = false;
  }

  private assign(clientId: string, serverId: string): void {
    const client = this.hosts.get(clientId) as FlowHost;
    const server = this.hosts.get(serverId) as FlowHost;
    this.assignments++;
    this.flow.attach(client, server, this.now);
    if (this.params.mode === 'relay') {
      this.apply(this.scheduler.addServer(SESSION, clientId, this.params.peerCapacity, this.now, { relay: true }));
    }
  }

  private result(events: number): SimulationResult {
    const session = this.scheduler.getSession(SESSION);
    const survivors = this.peers.filter((p) => !this.gone.has(p.id));
    const imagedSurvivors = survivors.filter((p) => this.scheduler.getClient(p.id)?.state === 'imaged').length;
    const makespanMs = this.lastDone;
    const complete = imagedSurvivors === survivors.length;
    const stuck =
      session && !complete
        ? {
            waiting: session.clientQueue.size,
            transferring: session.transfers,
            serversWithFreeSlots: session.serverQueue.size,
          }
        : undefined;
    return {
      mode: this.params.mode,
      peers: this.params.peers,
      makespanMs,
      lastEventMs: this.now,
      lowerBoundMs: this.rates.lowerBoundMs,
      ratio: makespanMs / this.rates.lowerBoundMs,
      imaged: session?.imaged ?? 0,
      failed: this.gone.size,
      survivors: survivors.length,
      survivorsImaged: imagedSurvivors,
      retries: this.retries,
      assignments: this.assignments,
      events,
      complete,
      ...(stuck ? { stuck } : {}),
      progression: coalesce(session?.progression ?? []),
    };
  }
}

/** Float noise aside, t0 + S/(S/T) is T: snap times within a nanosecond of a whole millisecond. */
function snapTime(t: number, now: number): number {
  const r = Math.round(t);
  return Math.max(now, Math.abs(t - r) < 1e-6 ? r : t);
}

/** Keep the last count at each distinct time. */
function coalesce(points: ReadonlyArray<{ at: number; imaged: number }>): ProgressPoint[] {
  const out: ProgressPoint[] = [];
  for (const p of points) {
    const last = out[out.length - 1];
    if (last && last.atMs === p.at) last.imaged = p.imaged;
    else out.push({ atMs: p.at, imaged: p.imaged });
  }
  return out;
}
