import { MAX_CONTROL_MESSAGE_BYTES, type Logger } from '@cascade/common';
import type { ConnectionLimits } from './net/control-connection.js';
import type { HelloPolicy } from './net/hello-gate.js';
import type { UnreachableOptions } from './health/unreachable-reports.js';

export interface CoordinatorOptions {
  logger: Logger;
  host: string;
  port: number;
  limits?: Partial<CoordinatorLimits>;
  /** Session token (hello challenge–response) and --public-status. */
  auth?: HelloPolicy;
  /** Serve the control plane and /status over TLS (wss://, https://). PEM. */
  tls?: { cert: Buffer | string; key: Buffer | string };
  /** How often gating timers and linger are checked. */
  tickIntervalMs?: number;
  /** ws ping interval; a connection that misses a pong for one interval is dropped. */
  pingIntervalMs?: number;
  /** How long a ticket is valid after its assignment. */
  ticketTtlMs?: number;
  /** Digest mismatches reported against one server before it is quarantined... */
  quarantineAfter?: number;
  /** ...by at least this many distinct clients the coordinator assigned to it. */
  quarantineReporters?: number;
  /** When clients' ERR_SERVER_UNREACHABLE reports hold a server back (unreachable-reports.ts). */
  unreachable?: Partial<UnreachableOptions>;
  now?: () => number;
}

export interface CoordinatorLimits extends ConnectionLimits {
  /** Connections held at once, in total and from one remote address. */
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /**
   * Bytes all control connections of one address may hold at once in unfinished messages
   * (fragments, partial frames); at least maxMessageBytes is allowed.
   */
  maxBufferedBytesPerAddress: number;
}

/** Defaults: generous enough for 10,000 light clients from a few dozen addresses. */
export const DEFAULT_COORDINATOR_LIMITS: CoordinatorLimits = {
  maxBadMessages: 5,
  helloTimeoutMs: 10_000,
  maxHelloBytes: 16 * 1024,
  maxMessageBytes: MAX_CONTROL_MESSAGE_BYTES,
  maxMessagesPerSecond: 50,
  messageBurst: 200,
  maxConnections: 20_000,
  maxConnectionsPerAddress: 1000,
  maxBufferedBytesPerAddress: 64 * 1024 * 1024,
};

/** The coordinator's settings that have a default (every one listed in COORDINATOR_DEFAULTS). */
export type CoordinatorSettings = Required<
  Pick<
    CoordinatorOptions,
    'tickIntervalMs' | 'pingIntervalMs' | 'ticketTtlMs' | 'quarantineAfter' | 'quarantineReporters'
  >
>;

/**
 * The one table of the coordinator's defaults (with DEFAULT_COORDINATOR_LIMITS): the library
 * falls back to these, and `cascade coordinator`'s option table shows them as its defaults.
 */
export const COORDINATOR_DEFAULTS: CoordinatorSettings = {
  tickIntervalMs: 250,
  pingIntervalMs: 10_000,
  ticketTtlMs: 60_000,
  quarantineAfter: 3,
  quarantineReporters: 2,
};
