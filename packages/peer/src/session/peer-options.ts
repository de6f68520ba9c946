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
   * Transfers from one server that may end on bad slices before the image counts as unverifiable
   * (exit 4); counted per server, so that bad servers that keep appearing never end the peer.
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
