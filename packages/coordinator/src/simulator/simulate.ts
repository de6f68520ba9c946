import { Scheduler } from '../scheduler/scheduler.js';
import type { Decision } from '../scheduler/types.js';
import { EventQueue } from './event-queue.js';
import { planFailures, type PlannedFailure } from './failures.js';
import { FlowNetwork, type FlowHost } from './flow-network.js';
import { hostRates, type HostRates } from './model.js';
import { checkParams, DEFAULT_SLICE_BYTES, hopLag, rateTick, type RelayMode, type SimulationParams } from './params.js';
import { isMove, rateFeed, type NoteRate } from './rate-feed.js';

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
  /** Transfers the scheduler moved to another server while they ran (re-routing). */
  moves: number;
  /** Transfer rates went to the scheduler (re-routing simulated). */
  rerouting: boolean;
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
  /** Peers given their own link rates (model.hosts): when each was imaged, against its own S/B. */
  hosts?: HostOutcome[];
  /** With `hosts`: when the last of the other peers (at the session's link rate) was imaged. */
  othersMakespanMs?: number;
}

export interface HostOutcome {
  index: number;
  /** When it was imaged, or null if it never was. */
  doneMs: number | null;
  /** Its own S/B: the image over its downlink (or disk). */
  lowerBoundMs: number;
  ratio: number | null;
}

const SESSION = 'simulation';
/** Rate ticks: every transfer reports at every tick up to this many transfers … */
const REPORT_ALL_UP_TO = 4096;
/** … and beyond, each reports at least every this many ticks. */
const MAX_TURNS = 8;

/**
 * Simulate imaging `peers` machines through the live Scheduler. With `fail > 0` it first runs
 * without failures to learn the makespan, then removes peers at random moments within it.
 */
export function simulate(params: SimulationParams): SimulationResult {
  checkParams(params);
  const fraction = params.fail ?? 0;
  const losses = (params.losses ?? []).map((l) => ({ peer: l.index - 1, atMs: l.atMs }));
  if (fraction === 0 && losses.length === 0) return new Simulation(params, []).run();
  const baseline = new Simulation(params, []).run();
  const random = fraction > 0 ? planFailures(params.peers, fraction, baseline.makespanMs, params.seed ?? 1) : [];
  const plan = [...random, ...losses].sort((a, b) => a.atMs - b.atMs || a.peer - b.peer);
  const result = new Simulation(params, plan).run();
  result.withoutFailures = { makespanMs: baseline.makespanMs, ratio: baseline.ratio };
  return result;
}

type SimEvent =
  | { kind: 'transfer'; host: FlowHost; version: number }
  | { kind: 'fail'; host: FlowHost }
  | { kind: 'rejoin'; host: FlowHost }
  | { kind: 'seeder' }
  | { kind: 'rates' };

/** One run: the scheduler decides, the flow network moves bytes, the event queue keeps time. */
class Simulation {
  private readonly scheduler = new Scheduler();
  private readonly queue = new EventQueue<SimEvent>();
  private readonly rates: HostRates;
  private readonly flow: FlowNetwork;
  private readonly sliceBytes: number;
  private readonly relayCapacity: number;
  private readonly tickMs: number;
  private readonly feed: NoteRate | null;
  private readonly hosts = new Map<string, FlowHost>();
  private readonly peers: FlowHost[] = [];
  /** Peers transferring now (rates go to the scheduler) → their turn, in 0..MAX_TURNS-1. */
  private readonly active = new Map<FlowHost, number>();
  /** The same peers by turn. */
  private readonly turns = Array.from({ length: MAX_TURNS }, () => new Set<FlowHost>());
  private serial = 0;
  private ticks = 0;
  /** Peers with their own link rates → when each was imaged. */
  private readonly custom = new Map<string, number | null>();
  private readonly gone = new Set<string>();
  private readonly pending: Decision[] = [];
  private draining = false;
  private ticking = false;
  private now = 0;
  private lastEvent = 0;
  private lastDone = 0;
  private othersDone = 0;
  private retries = 0;
  private assignments = 0;
  private moves = 0;

  constructor(
    private readonly params: SimulationParams,
    private readonly failures: readonly PlannedFailure[],
  ) {
    this.sliceBytes = params.sliceBytes ?? DEFAULT_SLICE_BYTES;
    this.rates = hostRates(params.model, this.sliceBytes);
    this.relayCapacity = params.relayCapacity ?? Math.min(params.peerCapacity, 1);
    this.tickMs = rateTick(params);
    this.feed = rateFeed(this.scheduler);
    this.flow = new FlowNetwork({
      imageBytes: this.rates.imageBytes,
      sliceBytes: this.sliceBytes,
      lagBytes: hopLag(params, this.sliceBytes, this.rates.peerDown),
      frame: this.rates.frame,
      ack: this.rates.ack,
      fifo: this.rates.fifo,
      schedule: (host, time) =>
        this.queue.push(snapTime(time, this.now), { kind: 'transfer', host, version: host.version }),
    });
  }

  run(): SimulationResult {
    this.start();
    return this.result(this.loop());
  }

  /** Every peer joins the client queue at time 0, the seeder serves once started, failures are scheduled. */
  private start(): void {
    const { imageBytes, seederUp, peerUp, peerDown, custom, startMs } = this.rates;
    const seederLink = custom.get(0);
    const seeder = this.flow.host('seeder', seederLink?.up ?? seederUp, Infinity, true);
    this.hosts.set(seeder.id, seeder);
    for (let i = 1; i <= this.params.peers; i++) {
      const own = custom.get(i);
      const peer = this.flow.host(`peer-${i}`, own?.up ?? peerUp, own?.down ?? peerDown);
      if (own) this.custom.set(peer.id, null);
      this.hosts.set(peer.id, peer);
      this.peers.push(peer);
    }
    for (const f of this.failures) this.queue.push(f.atMs, { kind: 'fail', host: this.peers[f.peer] as FlowHost });
    const image = { imageId: 'simulated', size: imageBytes, name: 'simulated image', sliceSize: this.sliceBytes };
    this.apply(this.scheduler.openSession(SESSION, image, { relay: this.params.mode === 'relay' }, 0));
    for (const peer of this.peers) this.apply(this.scheduler.enqueueClient(SESSION, peer.id, 0));
    if (startMs > 0) this.queue.push(startMs, { kind: 'seeder' });
    else this.startSeeder();
    this.flow.flush(0);
  }

  private startSeeder(): void {
    this.apply(this.scheduler.addServer(SESSION, 'seeder', this.params.seederCapacity, this.now));
  }

  /** Rate ticks run while anything transfers (from the first assignment on). */
  private keepTicking(): void {
    if (this.ticking || this.tickMs === 0) return;
    this.ticking = true;
    this.queue.push(this.now + this.tickMs, { kind: 'rates' });
  }

  /** Process events in time order until none is left; returns how many there were. */
  private loop(): number {
    const budget = 1_000 * (this.params.peers + 1) + 1_000_000;
    let events = 0;
    for (let e = this.queue.pop(); e; e = this.queue.pop()) {
      if (++events > budget) throw new Error(`simulation did not settle after ${budget} events`);
      this.now = e.time;
      const ev = e.item;
      if (ev.kind !== 'rates') this.lastEvent = this.now;
      if (ev.kind === 'fail') this.lose(ev.host);
      else if (ev.kind === 'seeder') this.startSeeder();
      else if (ev.kind === 'rates') this.noteRates();
      else if (ev.kind === 'rejoin') this.rejoin(ev.host);
      else if (ev.version === ev.host.version) this.transferEvent(ev.host);
      this.flow.flush(this.now);
    }
    return events;
  }

  /**
   * Transferring peers report their rate and held slices, as a live peer's progress does; the
   * scheduler's tick may then move some (re-routing). Runs while anything transfers. Up to
   * REPORT_ALL_UP_TO transfers, every one reports at every tick; beyond, they take turns so that
   * a tick costs O(REPORT_ALL_UP_TO) reports, each peer reporting at least every MAX_TURNS ticks,
   * and the scheduler's tick runs once per round.
   */
  private noteRates(): void {
    const decisions: Decision[] = [];
    const relay = this.params.mode === 'relay';
    const every = Math.min(MAX_TURNS, Math.ceil(this.active.size / REPORT_ALL_UP_TO));
    const turn = this.ticks++ % every;
    for (let t = turn; t < MAX_TURNS; t += every) {
      for (const h of this.turns[t] as Set<FlowHost>) {
        if (relay) this.scheduler.noteHeld(h.id, Math.floor(this.flow.bytesAt(h, this.now) / this.sliceBytes));
        if (this.feed) decisions.push(...this.feed(h.id, h.rate * 1000, this.now));
      }
    }
    this.apply(decisions);
    // The scheduler's tick reads the whole session (a median of its rates): once per round of turns.
    if (turn === 0) this.apply(this.scheduler.tick(this.now));
    this.ticking = false;
    if (this.active.size > 0) this.keepTicking();
  }

  private activate(h: FlowHost): void {
    if (this.active.has(h)) return;
    const turn = this.serial++ % MAX_TURNS;
    this.active.set(h, turn);
    this.turns[turn]?.add(h);
  }

  private deactivate(h: FlowHost): void {
    const turn = this.active.get(h);
    if (turn === undefined) return;
    this.active.delete(h);
    this.turns[turn]?.delete(h);
  }

  /** A transfer's event is due: it completed (the peer now serves the whole image), or its relay regime changed. */
  private transferEvent(host: FlowHost): void {
    if (!this.flow.due(host, this.now)) return;
    this.flow.finish(host, this.now);
    this.deactivate(host);
    this.lastDone = this.now;
    if (this.custom.has(host.id)) this.custom.set(host.id, this.now);
    else this.othersDone = this.now;
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
    this.deactivate(host);
    for (const c of orphans) this.deactivate(c);
    if (this.scheduler.getServer(host.id)) this.apply(this.scheduler.removeServer(host.id, this.now));
    if (this.scheduler.getClient(host.id)?.state !== 'imaged')
      this.apply(this.scheduler.removeClient(host.id, this.now));
    for (const c of orphans) {
      this.retries++;
      const rejoinMs = this.params.rejoinMs ?? 0;
      if (rejoinMs > 0) this.queue.push(this.now + rejoinMs, { kind: 'rejoin', host: c });
      else this.rejoin(c);
    }
  }

  /** An orphan reports its transfer failed and rejoins the queue at its head. */
  private rejoin(c: FlowHost): void {
    if (!this.gone.has(c.id)) this.apply(this.scheduler.transferFailed(c.id, this.now));
  }

  /** Act on decisions in order; decisions made while acting are queued behind them. */
  private apply(decisions: Decision[]): void {
    for (const d of decisions) this.pending.push(d);
    if (this.draining) return;
    this.draining = true;
    for (let i = 0; i < this.pending.length; i++) {
      const d = this.pending[i] as Decision;
      if (d.kind === 'assign') this.assign(d.client, d.server, isMove(d));
    }
    this.pending.length = 0;
    this.draining = false;
  }

  /**
   * A new transfer; or a move (the scheduler already freed the old server's slot): the client
   * leaves its server, losing only the slice in flight, and streams from the new one at once.
   */
  private assign(clientId: string, serverId: string, move: boolean): void {
    const client = this.hosts.get(clientId) as FlowHost;
    const server = this.hosts.get(serverId) as FlowHost;
    this.assignments++;
    if (move) this.moves++;
    this.flow.attach(client, server, this.now);
    this.activate(client);
    this.keepTicking();
    if (this.params.mode === 'relay' && !move) {
      this.apply(this.scheduler.addServer(SESSION, clientId, this.relayCapacity, this.now, { relay: true }));
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
      lastEventMs: this.lastEvent,
      lowerBoundMs: this.rates.lowerBoundMs,
      ratio: makespanMs / this.rates.lowerBoundMs,
      imaged: session?.imaged ?? 0,
      failed: this.gone.size,
      survivors: survivors.length,
      survivorsImaged: imagedSurvivors,
      retries: this.retries,
      assignments: this.assignments,
      moves: this.moves,
      rerouting: this.tickMs > 0,
      events,
      complete,
      ...(stuck ? { stuck } : {}),
      progression: coalesce(session?.progression ?? []),
      ...this.customOutcome(),
    };
  }

  private customOutcome(): Pick<SimulationResult, 'hosts' | 'othersMakespanMs'> {
    if (this.custom.size === 0) return {};
    const hosts = [...this.custom].map(([id, doneMs]) => {
      const lowerBoundMs = this.rates.imageBytes / (this.hosts.get(id) as FlowHost).down;
      const index = Number(id.slice('peer-'.length));
      return { index, doneMs, lowerBoundMs, ratio: doneMs === null ? null : doneMs / lowerBoundMs };
    });
    return { hosts, othersMakespanMs: this.othersDone };
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
