import { canServe, type ServerLinks } from './server-choice.js';
import { requeueServer } from './session-entry.js';
import { best, median, rising, route, waits } from './route-state.js';
import type { ClientEntry, Decision, RouteState, ServerEntry, SessionEntry } from './types.js';
import {
  JUDGE_AFTER_MS,
  PROBE_AFTER_MS,
  RATE_FRESH_MS,
  SLOW_RELAY_SHARE,
  SLOW_RELAY_MS,
  MAX_HEAD_PROBES,
  REPROBE_AFTER_MS,
  PROBE_GAIN,
  SLOW_SERVER_SHARE,
  SLOW_SERVER_MS,
  MOVE_GAIN,
  MOVE_INTERVAL_MS,
} from './reroute-limits.js';

/*
 * Routing around slow machines (issue 14), pure: rates in (noteRate), moves out (decide), time
 * passed in. A move rebinds a transferring client to another server at once (the old slot frees,
 * the new one is taken) and comes out as an `assign` decision with `move: true`.
 */

type Move = Extract<Decision, { kind: 'assign' }>;

export class Reroute {
  /** ceiling() of the round in progress (null: not known yet). */
  private ceilingNow: number | null = null;

  constructor(
    private readonly clients: ReadonlyMap<string, ClientEntry>,
    private readonly servers: ReadonlyMap<string, ServerEntry>,
    private readonly links: ServerLinks,
  ) {}

  /**
   * A transferring client's reported receive rate (bytes/s). Rates from a transfer's first
   * PROBE_AFTER_MS are not kept; those from its first half second serve the first head probe only.
   */
  noteRate(s: SessionEntry, c: ClientEntry, bytesPerSec: number, now: number): void {
    if (c.state !== 'transferring' || !Number.isFinite(bytesPerSec) || now - c.since < PROBE_AFTER_MS) return;
    const r = route(c);
    r.prevRate = r.rateAt >= c.since ? r.rate : null; // a rate from before its last move says nothing
    r.rate = Math.max(0, bytesPerSec);
    r.rateAt = now;
    if (now - c.since >= JUDGE_AFTER_MS && r.rate >= best(s, now)) s.bestRate = { rate: r.rate, at: now };
  }

  /** The moves this session needs now (running sessions only). */
  decide(s: SessionEntry, now: number): Move[] {
    if (s.state !== 'running') return [];
    const probe = s.options.relay && s.headProbes < MAX_HEAD_PROBES ? this.probeHead(s, now) : [];
    if (probe.length > 0) return probe;
    const live = this.live(s, now, JUDGE_AFTER_MS);
    if (live.length === 0) return [];
    const mid = median(live.map((c) => c.route?.rate as number));
    const out: Move[] = [];
    this.ceilingNow = null;
    // Clients each server lost (+) or gained (−) through this round's moves so far.
    const shift = new Map<string, number>();
    for (const c of live) {
      if (c.since === now) continue; // moved in this round
      const relayMoves = s.options.relay ? this.slowRelay(s, c, mid, now) : [];
      const moves = relayMoves.length > 0 ? relayMoves : this.slowServer(s, c, Math.max(mid, best(s, now)), shift, now);
      if (moves.length > 0) this.ceilingNow = null;
      for (const m of moves) {
        if (m.from) shift.set(m.from, (shift.get(m.from) ?? 0) + 1);
        shift.set(m.server, (shift.get(m.server) ?? 0) - 1);
      }
      out.push(...moves);
    }
    return out;
  }

  /** The session's clients with a judged rate (reported at least `after` ms into their transfer). */
  private live(s: SessionEntry, now: number, after: number): ClientEntry[] {
    const out: ClientEntry[] = [];
    for (const id of s.clients) {
      const c = this.clients.get(id) as ClientEntry;
      if (this.rateOf(c, now, after) !== null) out.push(c);
    }
    return out;
  }

  /** A judged rate: reported at least `after` ms (default half a second) into the transfer, and recently. */
  private rateOf(c: ClientEntry | undefined, now: number, after = JUDGE_AFTER_MS): number | null {
    const r = c?.route;
    if (!c || !r || c.state !== 'transferring' || r.rate === null) return null;
    if (r.rateAt - c.since < after || now - r.rateAt > RATE_FRESH_MS) return null;
    return r.rate;
  }

  /**
   * A relay receiving well below its own server (or the median when that server is complete) for
   * SLOW_RELAY_MS: its downstream moves to its server, it moves behind a tail and relays no more.
   */
  private slowRelay(s: SessionEntry, c: ClientEntry, mid: number, now: number): Move[] {
    const r = route(c);
    const srv = c.server ? this.servers.get(c.server) : undefined;
    if (r.slow || r.noRelay || !srv) return [];
    const up = this.clients.get(srv.id);
    // A relay whose own server is gone (it waits for a new one) starves its clients: nobody is slow.
    if (up && (up.state === 'queued' || (up.state === 'transferring' && !this.servers.has(up.server ?? '')))) {
      r.below = null;
      return [];
    }
    const ref = up?.state === 'transferring' ? this.rateOf(up, now) : mid;
    if (ref === null || waits(c, up) || (r.rate as number) >= SLOW_RELAY_SHARE * ref || rising(r)) {
      r.below = null;
      return [];
    }
    r.below ??= now;
    if (now - r.below < SLOW_RELAY_MS) return [];
    const downstream = [...(this.servers.get(c.id)?.clients ?? [])].map((id) => this.clients.get(id) as ClientEntry);
    if (downstream.length === 0) {
      r.noRelay = true; // the tail already: it delays nobody, and takes no client from now on
      return [];
    }
    // Its downstream moves up to `srv` as far as it may (its slot there frees); any left stays
    // with it. The place found is free of cycles with exactly those moves made.
    let room = srv.capacity - srv.clients.size + 1;
    const movers: ClientEntry[] = [];
    for (const d of downstream) {
      if (room-- <= 0 || !canServe(srv, d, this.clients, this.links)) break;
      movers.push(d);
    }
    const dest = this.placeFor(s, c, srv.id, new Map(movers.map((d) => [d.id, srv.id])), now, true);
    if (!dest) return [];
    // Not a verdict on the chain above it: its head may be slow too (then this one's server looked
    // fast only next to it), so the head is still probed.
    Object.assign(r, { slow: true, noRelay: true });
    const out = [this.move(s, c, dest, now, 'slow-relay', ref)];
    for (const d of movers) out.push(this.move(s, d, srv, now, 'slow-relay', ref));
    return out;
  }

  /**
   * The head of a lone chain has nothing to be compared with: everyone behind it goes at its pace,
   * so a slow head would hold back the whole lab unseen. Once its client's rate is known, the head
   * trades places with that client once: the client streams from the head's server and the head
   * moves behind the tail. A fast head loses nothing (it is ahead of the tail and streams on); a
   * slow one now delays nobody, and a slow client shows against the rate the chain had before.
   */
  private probeHead(s: SessionEntry, now: number): Move[] {
    const after = s.headProbes === 0 ? PROBE_AFTER_MS : JUDGE_AFTER_MS;
    const heads = this.live(s, now, after).filter((c) =>
      [undefined, 'imaged'].includes(this.clients.get(c.server ?? '')?.state),
    );
    if (heads.length !== 1) {
      if (heads.length > 1) s.headProbes = MAX_HEAD_PROBES; // several heads: they show against each other
      return [];
    }
    const head = heads[0] as ClientEntry;
    if (s.headProbes > 0 && !this.slowerThanBefore(s, head, now)) return [];
    const srv = this.servers.get(head.server ?? '');
    const next = [...(this.servers.get(head.id)?.clients ?? [])].map((id) => this.clients.get(id));
    const d = next.find((x) => this.rateOf(x, now, after) !== null);
    if (!srv || !d || head.route?.noRelay) return [];
    const ref = this.rateOf(head, now, after) as number;
    // The head is on trial first, whatever its client's rate: a head slow both ways makes its client
    // look slow too (for seconds, behind the head's deep uplink queue), and a client moved away on
    // that verdict took the tail's one free slot, which the probe needs (found on the slow-host lab:
    // the whole lab then went at the slow head's pace). A client slow itself that the probe puts
    // first is probed in turn once its rate settles (slowerThanBefore).
    const dest = this.placeFor(s, head, srv.id, new Map([[d.id, srv.id]]), now);
    const tail = this.clients.get(dest?.id ?? '');
    // Only a tight chain goes at its head's pace; and not behind a tail that is slow itself (that
    // one is seen, and stops relaying, first) or far behind (the head would idle until it caught up).
    // A tail merely slower than the head (the chain filling, or held back by that very head) is not
    // held against the probe: every second a slow head stays first costs the chain most of a second.
    if (!dest || !this.tight(s, head, d, ref)) return [];
    if (tail?.state === 'transferring' && (this.slowItself(tail, now) || !this.tight(s, head, tail, ref))) return [];
    // The best head rate seen stays the reference: a slow head put first by a probe that is then
    // probed in turn must not make the next slow one look like its equal (two slow machines in a
    // row after a fast head kept the whole lab at their pace).
    Object.assign(s, { headProbes: s.headProbes + 1, probeRef: Math.max(s.probeRef ?? 0, ref) });
    return [this.move(s, head, dest, now, 'probe-head', ref), this.move(s, d, srv, now, 'probe-head', ref)];
  }

  /**
   * The head a probe put first is settled well below the best head it replaced, or, after the
   * first probe, not clearly faster than the head it replaced (PROBE_GAIN).
   */
  private slowerThanBefore(s: SessionEntry, head: ClientEntry, now: number): boolean {
    const rate = this.rateOf(head, now);
    if (s.probeRef === null || rate === null || now - head.since < REPROBE_AFTER_MS) return false;
    if (rising(head.route as RouteState)) return false;
    if (s.headProbes === 1 && rate < PROBE_GAIN * s.probeRef) return true;
    return rate < SLOW_RELAY_SHARE * s.probeRef;
  }

  /**
   * A settled rate well below its own server's: slow itself, not just behind a slow one (a chain
   * held back by its head, or still filling, is slow all along its length), nor ahead of its server
   * and waiting for it (a head a probe sent behind the tail).
   */
  private slowItself(c: ClientEntry, now: number): boolean {
    const server = this.clients.get(c.server ?? '');
    const rate = this.rateOf(c, now);
    const up = this.rateOf(server, now);
    if (rate === null || up === null || waits(c, server)) return false;
    return rate < SLOW_RELAY_SHARE * up && !rising(c.route as RouteState);
  }

  /** `b` holds nearly what `a` holds: within 8 slices and what `a` receives in a second. */
  private tight(s: SessionEntry, a: ClientEntry, b: ClientEntry, rate: number): boolean {
    const slice = s.image?.sliceSize ?? 0;
    return b.held >= a.held - 8 - (slice > 0 ? rate / slice : 0);
  }

  /**
   * A client well below the session's reference rate for two seconds moves to another free,
   * eligible server where it may expect at least MOVE_GAIN × its rate (the best such); one that
   * stays slow after a move, below half its share of its new server, is slow itself and stays.
   */
  private slowServer(
    s: SessionEntry,
    c: ClientEntry,
    ref: number,
    shift: ReadonlyMap<string, number>,
    now: number,
  ): Move[] {
    const r = route(c);
    if (r.slow || ref <= 0 || (r.rate as number) >= SLOW_SERVER_SHARE * ref) {
      r.lagging = null;
      return [];
    }
    r.lagging ??= now;
    if (now - r.lagging < SLOW_SERVER_MS) return [];
    if (r.moves > 0) {
      // Slow on two servers: its own link is the limit. Not when it has its share of the one it is
      // on now (moved to an idle server that filled up since, it shares that uplink fairly).
      const srv = this.servers.get(c.server ?? '');
      const share = srv ? this.expectedRate(srv, ref, now, 0) : 0;
      if ((r.rate as number) < SLOW_SERVER_SHARE * share) Object.assign(r, { slow: true, noRelay: true });
      return [];
    }
    if (r.movedAt !== null && now - r.movedAt < MOVE_INTERVAL_MS) return [];
    // Its rate on its server, shared by fewer (or more) clients since others moved this round.
    const after = this.servers.get(c.server ?? '')?.clients.size ?? 0;
    const before = after + (shift.get(c.server ?? '') ?? 0);
    const rate = before > 0 && after > 0 ? ((r.rate as number) * before) / after : (r.rate as number);
    const dest = this.freeServerFor(s, c, rate, ref, now);
    return dest ? [this.move(s, c, dest, now, 'slow-server', ref)] : [];
  }

  /**
   * A free server for a slow relay: a complete one, else the fastest relay not downstream of it
   * (one with no rate yet — just moved, or ahead of its own server and waiting — counts as 0).
   * `slow`: `c` is a slow machine leaving the chain; when no such slot is free (the tail's one slot
   * holds a slow machine moved there before), it goes behind a slow machine that relays to nobody
   * else: slow machines end the chain one behind the other, and no fast one waits on them.
   */
  private placeFor(
    s: SessionEntry,
    c: ClientEntry,
    from: string,
    rebound: Map<string, string>,
    now: number,
    slow = false,
  ): ServerEntry | null {
    let bestRelay: ServerEntry | null = null;
    let bestRate = -1;
    let slowLeaf: ServerEntry | null = null;
    for (const id of s.serverQueue) {
      const x = this.servers.get(id) as ServerEntry;
      if (x.id === from || !this.hasRoom(x, c) || this.isBelow(x.id, c.id, rebound)) continue;
      const self = this.clients.get(x.id);
      if (!x.relay || self?.state === 'imaged') return x;
      if (self?.state !== 'transferring') continue;
      const rate = this.rateOf(self, now) ?? 0;
      if (self.route?.noRelay) slowLeaf ??= x;
      else if (rate > bestRate) [bestRelay, bestRate] = [x, rate];
    }
    return bestRelay ?? (slow ? slowLeaf : null);
  }

  /**
   * The free server that may serve `c` where it may expect the best rate, if that is at least
   * MOVE_GAIN × `rate`, its rate now (the first in queue order among equals).
   */
  private freeServerFor(s: SessionEntry, c: ClientEntry, rate: number, ref: number, now: number): ServerEntry | null {
    const need = MOVE_GAIN * rate;
    if (this.ceiling(s, ref, now) < need) return null;
    let dest: ServerEntry | null = null;
    let bestRate = 0;
    for (const id of s.serverQueue) {
      const x = this.servers.get(id) as ServerEntry;
      if (x.id === c.server || !this.hasRoom(x, c) || !canServe(x, c, this.clients, this.links)) continue;
      const expected = this.expectedRate(x, ref, now);
      if (expected > bestRate && expected >= need) [dest, bestRate] = [x, expected];
    }
    return dest;
  }

  /**
   * The most any client may expect at any free server this round (eligibility aside): most slow
   * clients find nothing worth a move, and this spares each of them a scan of every free server
   * at every tick (a 1,000-peer classic simulation ran 5× slower without it). Moves clear it.
   */
  private ceiling(s: SessionEntry, ref: number, now: number): number {
    if (this.ceilingNow !== null) return this.ceilingNow;
    let top = 0;
    for (const id of s.serverQueue) {
      const x = this.servers.get(id) as ServerEntry;
      if (this.open(x)) top = Math.max(top, this.expectedRate(x, ref, now));
    }
    this.ceilingNow = top;
    return top;
  }

  /**
   * What a client of `x` may expect once `joining` more join its clients: x's uplink shared evenly.
   * An imaged server's uplink is taken as `ref` (about what a server gives one client alone); a
   * relay still receiving forwards no faster than it receives (no rate yet — just moved, or
   * waiting — 0).
   */
  private expectedRate(x: ServerEntry, ref: number, now: number, joining = 1): number {
    const self = this.clients.get(x.id);
    const up = x.relay && self?.state === 'transferring' ? Math.min(ref, this.rateOf(self, now) ?? 0) : ref;
    return up / Math.max(1, x.clients.size + joining);
  }

  /** Takes clients now: a free slot, not quarantined or suspended. */
  private open(x: ServerEntry): boolean {
    return !x.quarantined && !x.suspended && x.clients.size < x.capacity;
  }

  private hasRoom(x: ServerEntry, c: ClientEntry): boolean {
    return this.open(x) && x.id !== c.id && !c.distrusted.has(x.id);
  }

  /** Whether `id`'s chain of servers passes through `ancestor` (with some clients' servers replaced). */
  private isBelow(id: string, ancestor: string, rebound: Map<string, string>): boolean {
    let cur: string | null = id;
    for (let depth = 0; cur !== null && depth <= this.clients.size; depth++) {
      if (cur === ancestor) return true;
      cur = rebound.get(cur) ?? this.clients.get(cur)?.server ?? null;
    }
    return false;
  }

  /** Rebind `c` to `to` at once: its old slot frees, the new one is taken. */
  private move(
    s: SessionEntry,
    c: ClientEntry,
    to: ServerEntry,
    now: number,
    reason: Move['reason'],
    ref: number,
  ): Move {
    const from = c.server as string;
    const old = this.servers.get(from);
    old?.clients.delete(c.id);
    if (old) requeueServer(s, old);
    to.clients.add(c.id);
    requeueServer(s, to);
    this.links.set(c, to.id);
    c.since = now;
    const r = route(c);
    const rate = r.rate ?? 0;
    if (reason === 'slow-server' || c.route?.slow) r.moves++;
    Object.assign(r, { movedAt: now, below: null, lagging: null, rate: null });
    return {
      kind: 'assign',
      session: s.name,
      client: c.id,
      server: to.id,
      at: now,
      move: true,
      from,
      reason,
      rate,
      ref,
    };
  }
}
