/**
 * The two performance models a simulation can use, and what each means for every host's links.
 *
 * - fixed: every transfer takes `transferMs`, however many clients its server has (the CSUS
 *   Imager's model). Relay mode streams `imageBytes / sliceBytes` slices at that same pace.
 * - fluid: a server's uplink is shared max-min fairly by its active clients; each host receives at
 *   most its downlink (and its disk rate, if given).
 */
export type SimModel =
  | { kind: 'fixed'; transferMs: number; imageBytes?: number }
  | { kind: 'fluid'; imageBytes: number; linkBps: number; seederLinkBps?: number; diskBps?: number };

/** Every host's rates, in bytes per millisecond (Infinity: no limit). */
export interface HostRates {
  imageBytes: number;
  seederUp: number;
  peerUp: number;
  /** What a peer can receive: min(downlink, disk). */
  peerDown: number;
  /** The lower bound S/B: one uncontended transfer. */
  lowerBoundMs: number;
}

/** Slices in the nominal image of the fixed model when no image size is given. */
export const FIXED_MODEL_SLICES = 1024;

export function hostRates(model: SimModel, sliceBytes: number): HostRates {
  if (model.kind === 'fixed') {
    const imageBytes = model.imageBytes ?? FIXED_MODEL_SLICES * sliceBytes;
    const perMs = imageBytes / model.transferMs;
    return { imageBytes, seederUp: Infinity, peerUp: Infinity, peerDown: perMs, lowerBoundMs: model.transferMs };
  }
  const link = model.linkBps / 1000;
  const disk = model.diskBps === undefined ? Infinity : model.diskBps / 1000;
  const peerDown = Math.min(link, disk);
  return {
    imageBytes: model.imageBytes,
    seederUp: (model.seederLinkBps ?? model.linkBps) / 1000,
    peerUp: link,
    peerDown,
    lowerBoundMs: model.imageBytes / peerDown,
  };
}

/** Throws a RangeError naming the first impossible value. */
export function checkModel(model: SimModel): void {
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
  positive(model.linkBps, 'link rate');
  positive(model.seederLinkBps, 'seeder link rate');
  positive(model.diskBps, 'disk rate');
}
