// What a peer's run produced: its result, built up transfer by transfer.

/** One transfer from one server, as the peer saw it. */
export interface TransferRecord {
  server: string;
  startedAt: number;
  ms: number;
  slices: number;
  /** Payload bytes written (used image bytes), and what they took on the wire (compressed). */
  bytes: number;
  wireBytes: number;
  badSlices: number;
  /** Why it ended early (error code), or null when it completed the image. */
  error: string | null;
}

export interface PeerResult {
  /** 'imaged' or why not. */
  outcome: 'imaged' | 'incomplete';
  sessionEndReason: string;
  imageId: string | null;
  /** Payload bytes received and written (the image's used bytes in the slices fetched). */
  bytesReceived: number;
  /** What those slices took on the wire (below bytesReceived when they came compressed). */
  wireBytesReceived: number;
  slicesReceived: number;
  slicesReused: number;
  badSlices: number;
  servers: string[];
  startedAt: number;
  imagedAt: number | null;
  bytesServed: number;
  clientsServed: number;
  /** Every transfer in order: which server, how much, how it ended. */
  transfers: TransferRecord[];
}

/** A result before anything happened. */
export function emptyPeerResult(startedAt: number): PeerResult {
  return {
    outcome: 'incomplete',
    sessionEndReason: '',
    imageId: null,
    bytesReceived: 0,
    wireBytesReceived: 0,
    slicesReceived: 0,
    slicesReused: 0,
    badSlices: 0,
    servers: [],
    startedAt,
    imagedAt: null,
    bytesServed: 0,
    clientsServed: 0,
    transfers: [],
  };
}

/** Add one transfer's outcome to the result. */
export function recordTransfer(
  result: PeerResult,
  t: { server: string; startedAt: number; ms: number; complete: boolean },
  r: { slices: number; bytes: number; wireBytes?: number; badSlices: number[]; error: { code: string } | null },
): void {
  result.badSlices += r.badSlices.length;
  result.wireBytesReceived += r.wireBytes ?? r.bytes;
  result.transfers.push({
    server: t.server,
    startedAt: t.startedAt,
    ms: t.ms,
    slices: r.slices,
    bytes: r.bytes,
    wireBytes: r.wireBytes ?? r.bytes,
    badSlices: r.badSlices.length,
    error: t.complete ? null : (r.error?.code ?? 'ERR_SERVER_LOST'),
  });
}

/** Count a slice written to the target; returns its bytes. */
export function countReceived(result: PeerResult, chunks: readonly Buffer[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  result.bytesReceived += n;
  result.slicesReceived++;
  return n;
}
