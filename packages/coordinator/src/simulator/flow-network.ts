import { waterFill } from './water-fill.js';

/**
 * FIFO links: what a transfer that joined a full uplink gets while the earlier ones go on. Measured
 * on the bench 2 lab (HTB with its default tail-drop FIFO, reno): a client that joined the seeder's
 * uplink while another stream filled it received 0.51 MB/s of 12.5 (4 %) until that stream ended,
 * then the whole link (its first packets are dropped at the full queue, and each retransmission
 * timeout doubles).
 */
export const LATE_SHARE = 0.04;
/** FIFO links: an uplink carrying this share of its rate is full. */
const FULL = 0.95;

/** One machine in the fluid model: what it has received, how fast, from whom, and whom it serves. */
export interface FlowHost {
  readonly id: string;
  /** Uplink, shared by its clients (bytes/ms; Infinity in the fixed model). */
  readonly up: number;
  /** The most it can receive (bytes/ms): downlink, disk. */
  readonly down: number;
  /** Verified bytes at time `t0`. */
  bytes: number;
  t0: number;
  /** Current receive rate (bytes/ms). */
  rate: number;
  complete: boolean;
  parent: FlowHost | null;
  readonly children: Set<FlowHost>;
  /** Bumped whenever this host's pending event is superseded. */
  version: number;
  /** Time of its pending event, or Infinity. */
  eventAt: number;
  dirty: boolean;
  /** FIFO links: it joined its server's uplink while that was full (it gets LATE_SHARE until the earlier transfers end). */
  late: boolean;
  /** FIFO links: its uplink was full at its last recompute (a transfer joining now waits behind the others). */
  full: boolean;
}

export interface FlowOptions {
  imageBytes: number;
  sliceBytes: number;
  /** Relay: how far a child stays behind its parent (cut-through: a few KiB). Default: a slice. */
  lagBytes?: number;
  /** Wire bytes per payload byte. Default 1 (none). */
  frame?: number;
  /** ACK bytes on the reverse link per payload byte received. Default 0 (none). */
  ack?: number;
  /**
   * Each uplink is one tail-drop FIFO queue (see FluidModel.queue): a transfer that joins an
   * uplink already full gets LATE_SHARE of it until the transfers that were there end.
   * Default false: uplinks are shared max-min fairly (per-flow queueing, e.g. fq_codel).
   */
  fifo?: boolean;
  /** Called with the time of a host's next event (a completion or a relay regime change). */
  schedule: (host: FlowHost, time: number) => void;
}

/**
 * The fluid bandwidth model. Every active transfer has a rate; rates are piecewise constant
 * between events, so bytes are computed lazily from (bytes, t0, rate). When something changes at a
 * server (a client comes or goes, or, in relay mode, the server's own rate changes), only that
 * server's clients are recomputed, and from them whichever relay's rate changed.
 *
 * Relay: a child receives only bytes its parent has received, so while the parent is incomplete
 * the child stays `lagBytes` behind it (cut-through: the bytes in flight on one hop; store-and-
 * forward: a whole slice). A child is then either free (behind that limit, at its fair share),
 * bound (at the limit, at most its parent's rate) or stalled (ahead of the limit, e.g.
 * re-attached to a parent that is behind it: rate 0 until the parent passes it).
 *
 * Links carry payload × `frame` on the wire, and each receiver's uplink carries `ack` × what it
 * receives; a relay's downlink likewise carries the ACKs of what it sends (taken as much as it
 * receives, as in a chain).
 */
export class FlowNetwork {
  private readonly size: number;
  private readonly slice: number;
  private readonly lag: number;
  private readonly frame: number;
  private readonly ack: number;
  private readonly eps: number;
  private readonly fifo: boolean;
  private readonly dirty: FlowHost[] = [];

  constructor(private readonly opts: FlowOptions) {
    this.size = opts.imageBytes;
    this.slice = Math.min(opts.sliceBytes, opts.imageBytes);
    this.lag = Math.min(opts.lagBytes ?? this.slice, opts.imageBytes);
    this.frame = opts.frame ?? 1;
    this.ack = opts.ack ?? 0;
    this.eps = opts.imageBytes * 1e-9 + 1e-6;
    this.fifo = opts.fifo ?? false;
  }

  host(id: string, up: number, down: number, complete = false): FlowHost {
    const bytes = complete ? this.size : 0;
    return {
      id,
      up,
      down,
      bytes,
      t0: 0,
      rate: 0,
      complete,
      parent: null,
      children: new Set(),
      version: 0,
      eventAt: Infinity,
      dirty: false,
      late: false,
      full: false,
    };
  }

  bytesAt(h: FlowHost, now: number): number {
    return h.complete ? this.size : Math.min(this.size, h.bytes + h.rate * (now - h.t0));
  }

  /** True when the host holds the whole image (its completion event is due). */
  isFinished(h: FlowHost, now: number): boolean {
    return h.complete || (h.parent?.complete === true && this.bytesAt(h, now) >= this.size - this.eps);
  }

  /**
   * A host's scheduled event is due. Returns true when it now holds the whole image (the caller
   * then calls finish); otherwise its relay regime changed and its parent is recomputed.
   */
  due(h: FlowHost, now: number): boolean {
    h.eventAt = Infinity;
    if (this.isFinished(h, now)) return true;
    if (h.parent) this.markDirty(h.parent);
    return false;
  }

  attach(child: FlowHost, parent: FlowHost, now: number): void {
    if (child.parent) this.detach(child, now);
    this.advance(child, now);
    child.parent = parent;
    // The uplink's queue is full (as of its last recompute) with the transfers already there.
    child.late = this.fifo && parent.full && parent.children.size > 0;
    parent.children.add(child);
    this.markDirty(parent);
    if (parent.children.size === 1) this.servingChanged(parent);
  }

  /** The transfer stops (server lost): the slice in flight is lost, verified slices are kept. */
  detach(child: FlowHost, now: number): void {
    const parent = child.parent;
    this.advance(child, now);
    child.bytes = Math.floor(child.bytes / this.slice) * this.slice;
    this.setRate(child, 0);
    child.parent = null;
    this.cancel(child);
    if (parent) this.leave(child, parent);
  }

  /** The child holds the whole image: it leaves its parent and its own clients are uncapped. */
  finish(child: FlowHost, now: number): void {
    const parent = child.parent;
    child.bytes = this.size;
    child.t0 = now;
    child.rate = 0;
    child.complete = true;
    child.parent = null;
    this.cancel(child);
    if (parent) this.leave(child, parent);
    if (child.children.size > 0) this.markDirty(child);
  }

  private leave(child: FlowHost, parent: FlowHost): void {
    child.late = false;
    parent.children.delete(child);
    // The earlier transfers all ended: the late ones now share the queue like any.
    if (this.fifo && ![...parent.children].some((c) => !c.late)) for (const c of parent.children) c.late = false;
    this.markDirty(parent);
    if (parent.children.size === 0) {
      parent.full = false;
      this.servingChanged(parent);
    }
  }

  /** A receiving host started or stopped serving: its downlink's ACK load changed. */
  private servingChanged(h: FlowHost): void {
    if (h.parent && this.ack > 0) this.markDirty(h.parent);
  }

  /** Its clients' rates must be recomputed at the next flush. */
  markDirty(h: FlowHost): void {
    if (h.dirty) return;
    h.dirty = true;
    this.dirty.push(h);
  }

  /** Recompute every dirty server's clients, cascading down relays whose rate changed. */
  flush(now: number): void {
    for (let i = 0; i < this.dirty.length; i++) {
      const h = this.dirty[i] as FlowHost;
      h.dirty = false;
      this.recompute(h, now);
    }
    this.dirty.length = 0;
  }

  private recompute(p: FlowHost, now: number): void {
    if (p.children.size === 0) {
      p.full = false;
      return;
    }
    const kids = [...p.children];
    const pBytes = this.bytesAt(p, now);
    const caps = kids.map((c) => {
      this.advance(c, now);
      return this.capOf(c, p, pBytes);
    });
    const up = this.uplink(p);
    const rates = this.share(up, kids, caps);
    p.full = rates.reduce((a, b) => a + b, 0) >= FULL * up;
    kids.forEach((c, i) => {
      this.setRate(c, rates[i] as number);
      this.reschedule(c, p, pBytes, now);
    });
  }

  /** Payload bytes/ms the uplink carries (less the ACKs of what a relay receives). */
  private uplink(p: FlowHost): number {
    const { frame, ack } = this;
    return p.complete ? p.up / frame : Math.max(0, p.up - ack * p.rate) / frame;
  }

  /**
   * Max-min fair shares; on a FIFO uplink the late transfers first get LATE_SHARE each, the others
   * share the rest, and what those cannot take goes to the late ones.
   */
  private share(up: number, kids: readonly FlowHost[], caps: readonly number[]): number[] {
    const late = kids.map((c) => c.late);
    if (!late.includes(true) || !late.includes(false)) return waterFill(up, caps);
    const pick = (want: boolean): number[] => caps.filter((_, i) => late[i] === want);
    const trickle = pick(true).reduce((n, cap) => n + Math.min(cap, LATE_SHARE * up), 0);
    const early = waterFill(Math.max(0, up - trickle), pick(false));
    const rest = waterFill(Math.max(0, up - early.reduce((a, b) => a + b, 0)), pick(true));
    let e = 0;
    let l = 0;
    return late.map((isLate) => (isLate ? (rest[l++] as number) : (early[e++] as number)));
  }

  /** The most this child could receive now, before sharing the parent's uplink. */
  private capOf(c: FlowHost, p: FlowHost, pBytes: number): number {
    const down = c.down / (c.children.size > 0 ? this.frame + this.ack : this.frame);
    if (p.complete) return down;
    const limit = pBytes - this.lag;
    const gap = limit - c.bytes;
    if (gap > this.eps) return down;
    if (gap < -this.eps) return 0;
    c.bytes = Math.max(0, limit);
    return Math.min(down, p.rate);
  }

  /** When this child's situation next changes: it completes, catches up, or is released. */
  private reschedule(c: FlowHost, p: FlowHost, pBytes: number, now: number): void {
    let dt = Infinity;
    if (p.complete) {
      if (c.rate > 0) dt = (this.size - c.bytes) / c.rate;
    } else if (c.rate > 0) {
      const gap = pBytes - this.lag - c.bytes;
      if (gap > this.eps && c.rate > p.rate) dt = gap / (c.rate - p.rate);
    } else if (p.rate > 0) {
      dt = Math.max(0, c.bytes + this.lag - pBytes) / p.rate;
    }
    const at = now + dt;
    if (Math.abs(at - c.eventAt) <= 1e-9 * Math.max(1, Math.abs(at))) return;
    c.version++;
    c.eventAt = at;
    if (dt < Infinity) this.opts.schedule(c, at);
  }

  private setRate(c: FlowHost, rate: number): void {
    if (rate === c.rate) return;
    c.rate = rate;
    if (c.children.size > 0 && !c.complete) this.markDirty(c);
  }

  private advance(h: FlowHost, now: number): void {
    h.bytes = this.bytesAt(h, now);
    h.t0 = now;
  }

  private cancel(h: FlowHost): void {
    h.version++;
    h.eventAt = Infinity;
  }
}
