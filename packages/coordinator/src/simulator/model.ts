/**
 * The two performance models a simulation can use, and what each means for every host's links.
 *
 * - fixed: every transfer takes `transferMs`, however many clients its server has (the CSUS
 *   Imager's model). Relay mode streams `imageBytes / sliceBytes` slices at that same pace.
 * - fluid: a server's uplink is shared max-min fairly by its active clients; each host receives at
 *   most its downlink (and its disk rate, if given). Links carry TCP's framing and the ACKs of the
 *   other direction (see TCP_FRAME_OVERHEAD, TCP_ACK_OVERHEAD), and the seeder needs `startMs`
 *   from its launch to its first byte.
 */
export type SimModel = { kind: 'fixed'; transferMs: number; imageBytes?: number } | FluidModel;

export interface FluidModel {
  kind: 'fluid';
  imageBytes: number;
  /**
   * Bytes a whole image takes on the wire (its used bytes, compressed: `cascade manifest` prints
   * it). Transfers move this many; a disk still writes the image's payload. Default imageBytes.
   */
  wireBytes?: number;
  /** Every host's link rate, each way, in bytes per second (on the wire, like a shaper counts). */
  linkBps: number;
  /** The seeder's uplink (default linkBps). */
  seederLinkBps?: number;
  diskBps?: number;
  /** Hosts with their own link rates: index 0 is the seeder, 1..peers the peers in joining order. */
  hosts?: HostLink[];
  /** Wire bytes per payload byte of a data stream. Default TCP_FRAME_OVERHEAD. */
  frameOverhead?: number;
  /** Bytes of ACKs on the reverse link per payload byte received. Default TCP_ACK_OVERHEAD. */
  ackOverhead?: number;
  /** Seeder launch to its first byte, in ms. Default SEEDER_START_MS. */
  startMs?: number;
  /**
   * How an uplink's queue shares it among the transfers on it. 'fair' (default): per-flow queueing
   * (Linux's default fq_codel), max-min fair. 'fifo': one tail-drop FIFO (a shaper's or switch's
   * plain queue, TCP reno): a transfer that starts while the link is full gets LATE_SHARE of it
   * until the transfers already there end — the earlier ones finish sooner than a fair share.
   */
  queue?: LinkQueue;
}

export type LinkQueue = 'fair' | 'fifo';

/** One host's own link rates in bytes per second (each defaults to the session's link rate). */
export interface HostLink {
  index: number;
  downBps?: number;
  upBps?: number;
}

/**
 * A full 1448-byte TCP segment (MTU 1500 with timestamps) is a 1514-byte Ethernet frame, which
 * is what a shaper (HTB) counts: a single transfer takes 1514/1448 = 1.046 × S/B. Measured on
 * the bench 2 lab (100 Mbit/s HTB): 1.05 × S/B.
 */
export const TCP_FRAME_OVERHEAD = 1514 / 1448;
/**
 * A receiver sends one 66-byte ACK frame per two segments (delayed ACK) on its uplink: in a chain
 * every relay's uplink carries its data out and the ACKs of what it receives, and its downlink the
 * data in and the ACKs of what it sends, so a chain streams at link / (1.046 + 0.023).
 */
export const TCP_ACK_OVERHEAD = 66 / (2 * 1448);
/** Seeder launch to first byte (the peers already waiting): what bench 2's makespan includes. */
export const SEEDER_START_MS = 500;

/** Every host's rates, in payload bytes per millisecond (Infinity: no limit). */
export interface HostRates {
  /** Bytes a transfer of the whole image moves (the fluid model's wire size, when given). */
  imageBytes: number;
  seederUp: number;
  peerUp: number;
  /** What a peer can receive: min(downlink, disk). */
  peerDown: number;
  /** Per-host overrides, by index (0 the seeder). */
  custom: Map<number, { up: number; down: number }>;
  /** Wire bytes per payload byte, and reverse-link ACK bytes per payload byte (1 and 0: none). */
  frame: number;
  ack: number;
  fifo: boolean;
  /** Seeder launch to first byte. */
  startMs: number;
  /** The lower bound S/B: one uncontended transfer. */
  lowerBoundMs: number;
}

/** Slices in the nominal image of the fixed model when no image size is given. */
export const FIXED_MODEL_SLICES = 1024;

export function hostRates(model: SimModel, sliceBytes: number): HostRates {
  if (model.kind === 'fixed') {
    const imageBytes = model.imageBytes ?? FIXED_MODEL_SLICES * sliceBytes;
    const perMs = imageBytes / model.transferMs;
    return {
      imageBytes,
      seederUp: Infinity,
      peerUp: Infinity,
      peerDown: perMs,
      custom: new Map(),
      frame: 1,
      ack: 0,
      fifo: false,
      startMs: 0,
      lowerBoundMs: model.transferMs,
    };
  }
  const link = model.linkBps / 1000;
  const disk = model.diskBps === undefined ? Infinity : model.diskBps / 1000;
  const custom = new Map<number, { up: number; down: number }>();
  for (const h of model.hosts ?? []) {
    const fallbackUp = h.index === 0 ? (model.seederLinkBps ?? model.linkBps) : model.linkBps;
    custom.set(h.index, {
      up: (h.upBps ?? fallbackUp) / 1000,
      down:
        h.index === 0
          ? Infinity
          : Math.min((h.downBps ?? model.linkBps) / 1000, disk * (wireOf(model) / model.imageBytes)),
    });
  }
  // A transfer moves wire bytes; the disk writes the payload they carry (image ÷ wire per wire byte).
  const wire = wireOf(model);
  const diskWire = disk * (wire / model.imageBytes);
  return {
    imageBytes: wire,
    seederUp: (model.seederLinkBps ?? model.linkBps) / 1000,
    peerUp: link,
    peerDown: Math.min(link, diskWire),
    custom,
    frame: model.frameOverhead ?? TCP_FRAME_OVERHEAD,
    ack: model.ackOverhead ?? TCP_ACK_OVERHEAD,
    fifo: model.queue === 'fifo',
    startMs: model.startMs ?? SEEDER_START_MS,
    lowerBoundMs: model.imageBytes / Math.min(link, disk),
  };
}

/** Bytes a transfer of the whole image moves in the fluid model. */
function wireOf(model: FluidModel): number {
  return model.wireBytes ?? model.imageBytes;
}

/** Throws a RangeError naming the first impossible value. */
export function checkModel(model: SimModel, peers = Infinity): void {
  const positive = (v: number | undefined, what: string): void => {
    if (v !== undefined && !(Number.isFinite(v) && v > 0))
      throw new RangeError(`${what} must be a positive number, got ${v}`);
  };
  if (model.kind === 'fixed') {
    positive(model.transferMs, 'transfer time');
    positive(model.imageBytes, 'image size');
    return;
  }
  positive(model.imageBytes, 'image size');
  positive(model.wireBytes, 'wire size');
  positive(model.linkBps, 'link rate');
  positive(model.seederLinkBps, 'seeder link rate');
  positive(model.diskBps, 'disk rate');
  if (model.queue !== undefined && model.queue !== 'fair' && model.queue !== 'fifo')
    throw new RangeError(`link queue must be fair or fifo, got ${String(model.queue)}`);
  if (model.frameOverhead !== undefined && !(model.frameOverhead >= 1 && model.frameOverhead < 2))
    throw new RangeError(`frame overhead must be in [1, 2), got ${model.frameOverhead}`);
  if (model.ackOverhead !== undefined && !(model.ackOverhead >= 0 && model.ackOverhead < 1))
    throw new RangeError(`ACK overhead must be in [0, 1), got ${model.ackOverhead}`);
  if (model.startMs !== undefined && !(model.startMs >= 0 && Number.isFinite(model.startMs)))
    throw new RangeError(`seeder start time must be ≥ 0 ms, got ${model.startMs}`);
  for (const h of model.hosts ?? []) {
    if (!Number.isInteger(h.index) || h.index < 0 || h.index > peers)
      throw new RangeError(`host index must be 0 (the seeder) to ${peers} (the last peer), got ${h.index}`);
    positive(h.downBps, `host ${h.index} downlink`);
    positive(h.upBps, `host ${h.index} uplink`);
  }
}
