import type { KeyObject } from 'node:crypto';
import type { Logger } from '@cascade/common';
import type { PeerProgress } from './progress.js';

/**
 * What a peer is told to do. Settings the `cascade peer` option table declares (capacity, window,
 * timeouts, rates) are required here: their defaults live in that table only
 * (packages/cli/src/options/peer-options.ts), and the peer receives them parsed.
 */
export interface PeerOptions {
  logger: Logger;
  coordinator: string;
  session: string;
  target: string;
  name?: string;
  capacity: number;
  listen: { host: string; port: number };
  advertise?: string;
  /** A server that accepts no connection within this long is unreachable (--connect-timeout). */
  connectTimeoutMs: number;
  /**
   * The listen port is only the default (7771): when it is taken, serve on any free port
   * (with a warning) instead of failing.
   */
  listenFallback?: boolean;
  /** Hash what the target already holds and fetch only slices that differ. */
  reuse?: boolean;
  /** Write to a block device even if it is mounted or holds the running system. */
  force?: boolean;
  /** Uplink cap in bytes/s when serving. */
  rate?: number;
  /** Most requests kept outstanding (--window); see slice-client.ts. */
  window: number;
  /** A server silent this long is lost (--stall). */
  stallTimeoutMs: number;
  /** Minimum useful rate of a transfer in bytes/s (0: none; --min-rate); see slice-client.ts. */
  minRate: number;
  /**
   * Transfers that may end on bad slices before the image counts as unverifiable (exit 4).
   * Network faults and refusals never count: the peer rejoins the queue for as long as the session is open.
   */
  maxServerFailures?: number;
  fault?: { every?: number; once?: number[] };
  /**
   * Threads that verify slices (default: one per core, at most 4): several slices are verified
   * at once while the socket is read. 0 hashes on the event loop.
   */
  hashWorkers?: number;
  /** Clients served at once while still downloading, in relay sessions (1: a chain; --relay-capacity). */
  relayCapacity: number;
  /** How long a relay holds a request for a slice it has not verified yet (default 60 s). */
  relayWaitMs?: number;
  onProgress?: (p: PeerProgress) => void;
  /** Session token for the coordinator's challenge; CA for a wss:// coordinator. */
  token?: Uint8Array | undefined;
  ca?: Buffer | string | undefined;
  /** Accept only manifests signed by one of these keys (refuse unsigned ones too). */
  trust?: readonly KeyObject[] | undefined;
}

/** One transfer from one server, as the peer saw it. */
export interface TransferRecord {
  server: string;
  startedAt: number;
  ms: number;
  slices: number;
  bytes: number;
  badSlices: number;
  /** Why it ended early (error code), or null when it completed the image. */
  error: string | null;
}

export interface PeerResult {
  /** 'imaged' or why not. */
  outcome: 'imaged' | 'incomplete';
  sessionEndReason: string;
  imageId: string | null;
  bytesReceived: number;
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
  r: { slices: number; bytes: number; badSlices: number[]; error: { code: string } | null },
): void {
  result.badSlices += r.badSlices.length;
  result.transfers.push({
    server: t.server,
    startedAt: t.startedAt,
    ms: t.ms,
    slices: r.slices,
    bytes: r.bytes,
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
