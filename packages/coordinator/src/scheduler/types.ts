import type { SessionOptions } from '@cascade/common';

export type SessionState = 'pending' | 'waiting' | 'running' | 'ended';

/** What the scheduler decided; the live coordinator and the simulator act on these. */
export type Decision =
  | {
      kind: 'assign';
      session: string;
      client: string;
      server: string;
      at: number;
      /**
       * A move (reroute.ts): the client is transferring from `from` and switches to `server` at
       * once; the scheduler has already freed the old slot. `rate` is the client's rate and `ref`
       * the rate it was judged against (bytes/s).
       */
      move?: true;
      from?: string;
      reason?: 'slow-relay' | 'slow-server' | 'probe-head';
      rate?: number;
      ref?: number;
    }
  | { kind: 'queued'; session: string; client: string; position: number }
  | { kind: 'started'; session: string; reason: StartReason; at: number }
  | { kind: 'ended'; session: string; reason: EndReason; at: number }
  /**
   * A client named a session nobody opened, and the pending-session caps are reached: it was not
   * recorded. The coordinator answers `error ERR_TOO_MANY_SESSIONS` (transient: it may retry).
   */
  | { kind: 'refused'; session: string; client: string; code: 'ERR_TOO_MANY_SESSIONS'; reason: string };

/** `resumed`: it had started before a coordinator restart (its seeder says so when it re-opens it). */
export type StartReason = 'resumed' | 'immediate' | 'count' | 'timer' | 'operator';

export type EndReason = 'operator' | 'end-count' | 'linger' | 'seeder-stopped' | 'image-changed';

export interface ImageInfo {
  imageId: string;
  size: number;
  name: string;
  /** Bytes per slice (held counts are in slices); rerouting uses it to tell a tight chain. */
  sliceSize?: number;
}

export interface ServerEntry {
  id: string;
  session: string;
  capacity: number;
  /** Clients being served now. */
  clients: Set<string>;
  /** Serving while still downloading (relay mode). */
  relay: boolean;
  quarantined: boolean;
  /** Given no new clients for now: its clients report it unreachable (unreachable-reports.ts). */
  suspended: boolean;
  /** Clients this server has finished serving. */
  served: number;
  since: number;
}

export interface ClientEntry {
  id: string;
  session: string;
  state: 'queued' | 'transferring' | 'imaged';
  server: string | null;
  since: number;
  /** Servers that failed this client, avoided when another is free. */
  avoid: Set<string>;
  /**
   * Servers this client reported sending bad slices (a counted report): never chosen for it while
   * the session has any other server, free or busy.
   */
  distrusted: Set<string>;
  /** Slices it holds verified, as last reported (relay mode: only relays ahead of it may serve it). */
  held: number;
  /** When its machine joined (hello): a session that waited starts with its queue in this order. */
  joinedAt: number;
  /** Its receive rate and rerouting state, once it reported a rate (reroute.ts). */
  route?: RouteState;
}

/** What rerouting knows of a client (reroute.ts); times in the scheduler's clock. */
export interface RouteState {
  /** Bytes/s it last reported for its current transfer (null: none since its last move). */
  rate: number | null;
  rateAt: number;
  /** The report before that one (null: none yet): a rate still rising is not judged. */
  prevRate: number | null;
  /** Since when it receives well below its own server (slow relay), or null. */
  below: number | null;
  /** Since when it receives well below the session's reference rate (slow server), or null. */
  lagging: number | null;
  movedAt: number | null;
  /** Moves made because it was slow. */
  moves: number;
  /** Its own link is slow: never moved again (and offers no relay slots). */
  slow: boolean;
  /** Offers no relay slots any more: it would hold back whoever streams from it. */
  noRelay: boolean;
}

export interface SessionEntry {
  name: string;
  state: SessionState;
  options: SessionOptions;
  image: ImageInfo | null;
  openedAt: number | null;
  startedAt: number | null;
  /**
   * It had started before this coordinator (re)started, as its seeder said when it re-opened it:
   * it starts at once whatever its gate, and is never gated again.
   */
  resumed: boolean;
  endedAt: number | null;
  endReason: EndReason | null;
  imaged: number;
  clientQueue: import('./keyed-queue.js').KeyedQueue<string>;
  serverQueue: import('./keyed-queue.js').KeyedQueue<string>;
  servers: Set<string>;
  clients: Set<string>;
  transfers: number;
  /** Since when nobody waits and nothing transfers (for linger), or null. */
  idleSince: number | null;
  /** (time, machines imaged) at every finish. */
  progression: Array<{ at: number; imaged: number }>;
  /** The best rate a transfer of this session reported, and when (the slow-server reference). */
  bestRate: { rate: number; at: number } | null;
  /**
   * Times the head of a lone chain traded places with its client (reroute.ts; MAX_HEAD_PROBES once
   * the session had several heads, which show against each other): until the first, nothing in the
   * session could show that the head itself is slow. `probeRef`: the best rate of a head a
   * probe moved away (null: none yet); a head slower than that is probed again.
   */
  headProbes: number;
  probeRef: number | null;
}

/** How a failed transfer's client rejoins the queue: avoiding or distrusting its server; `back`: its server dropped it. */
export type FailedOptions = { avoidServer?: boolean; distrust?: boolean; back?: boolean };
