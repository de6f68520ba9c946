import type { SliceStore } from '../slices/slice-store.js';

/** What a peer is doing and how far it got, for progress displays and the coordinator. */
export interface PeerProgress {
  phase: 'waiting' | 'hashing' | 'queued' | 'transferring' | 'serving';
  slices: number;
  total: number;
  bytes: number;
  /** Bytes per second received recently. */
  rate: number;
  server?: string;
}

export function peerProgress(
  store: SliceStore | null,
  phase: PeerProgress['phase'],
  rate = 0,
  server?: string,
): PeerProgress {
  return {
    phase,
    slices: store?.heldSlices ?? 0,
    total: store?.count ?? 0,
    bytes: store?.heldBytes ?? 0,
    rate,
    ...(server ? { server } : {}),
  };
}

/** A peer's totals for `progress` and `done`: bytes read on data connections, payload bytes written. */
export function peerTraffic(
  received: { total: number },
  result: { bytesReceived: number },
): { wire: number; payload: number } {
  return { wire: received.total, payload: result.bytesReceived };
}
