/**
 * serve/ — the peer as a server: its slice server (common's serveImage) started as a relay while
 * downloading, then for the whole image; the listening port, the advertised address, capacity.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Server } from 'node:net';
import {
  advertisedEndpoint,
  bindListener,
  CascadeError,
  readPayload,
  serveImage,
  slicePayloadLength,
  slicePieces,
  type LiveSlices,
  type Logger,
  type Manifest,
  type SliceServer,
} from '@cascade/common';
import type { PeerTarget, ServeOffer, ServingPart } from '../session/components.js';
import type { SliceStore } from '../slices/slice-store.js';

export interface PeerServingOptions {
  logger: Logger;
  serverId: string;
  session: string;
  listen: { host: string; port: number };
  advertise?: string | undefined;
  rate?: number | undefined;
  fault?: { every?: number; once?: number[] } | undefined;
  /** How long a relay holds a request for a slice it has not verified yet (default 60 s). */
  relayWaitMs?: number | undefined;
  /** The listen port is the default one: when it is taken, take any free port (with a warning). */
  listenFallback?: boolean | undefined;
  /** A client left; `reason` ERR_CLIENT_TOO_SLOW: the rate floor dropped it (the coordinator is told). */
  onClientLeft: (client: string, reason: string) => void;
}

/**
 * A peer's slice server: started as a relay (verified slices only; requests for the others wait
 * for them, bounded) while the peer downloads in a relay session, or for the whole image once it
 * is complete — the same server, its capacity raised when the image becomes whole.
 */
export class PeerServing implements ServingPart {
  /** The key the coordinator shared at registration (tickets are checked with it). */
  ticketKey: Uint8Array | null = null;
  private server: SliceServer | null = null;
  private listener: Server | null = null;
  private bound: { host: string; port: number } | null = null;
  private mode: { relay: boolean; capacity: number } | null = null;
  private readonly log: Logger;

  constructor(private readonly opts: PeerServingOptions) {
    this.log = opts.logger.child({ component: 'peer-serving' });
  }

  get started(): boolean {
    return this.server !== null;
  }

  /** Bind the serving address at startup: a taken port fails here (ERR_BAD_CONFIG), before the coordinator hears of us. */
  async bind(): Promise<void> {
    if (this.listener || this.server) return;
    const { host, port } = this.opts.listen;
    try {
      this.listener = await bindListener(host, port);
    } catch (err) {
      const taken = (err as { cause?: { code?: string } }).cause?.code === 'EADDRINUSE';
      if (!this.opts.listenFallback || !taken || port === 0) throw err;
      this.listener = await bindListener(host, 0);
      const bound = (this.listener.address() as { port: number }).port;
      this.log.warn(
        { host, port, bound },
        `default data port ${port} is taken; serving on port ${bound} (open it in the firewall, or set --listen)`,
      );
    }
  }

  async start(o: {
    relay: boolean;
    capacity: number;
    store: SliceStore;
    manifest: Manifest;
    target: PeerTarget;
  }): Promise<void> {
    this.mode = { relay: o.relay, capacity: o.capacity };
    if (this.server) {
      this.server.setCapacity(o.capacity);
      this.log.info({ capacity: o.capacity, relay: o.relay }, 'serving the whole image');
      return;
    }
    const waitMs = this.opts.relayWaitMs ?? 60_000;
    const store = o.store;
    const fh = o.target.fh;
    if (!fh) throw new CascadeError('ERR_INTERNAL', 'serving needs an open target');
    const prebound = this.listener ?? undefined;
    this.listener = null;
    const { server, bound } = await serveImage({
      logger: this.opts.logger,
      manifest: o.manifest,
      fh,
      prebound,
      // A relay's clients wait for its own upstream: no rate floor for them (issue 29, finding 4).
      clientFloor: o.relay ? null : undefined,
      held: (i) => store.has(i),
      // Held slices whose compressed bytes are still kept go out compressed; the rest raw.
      compressed: (i: number) => Promise.resolve(store.wire.get(i)),
      ...(o.relay ? { waitFor: (i: number) => store.waitFor(i, waitMs), live: liveSlices(store, fh, waitMs) } : {}),
      serverId: this.opts.serverId,
      session: this.opts.session,
      ticketKey: () => this.ticketKey,
      capacity: o.capacity,
      listen: this.opts.listen,
      rate: this.opts.rate,
      fault: this.opts.fault,
    });
    server.on('client-left', (s: { client: string; bytes: number }, reason: string) => {
      this.opts.onClientLeft(s.client, reason);
      this.log.info({ client: s.client, bytes: s.bytes, reason }, 'client left');
    });
    this.server = server;
    this.bound = bound;
    this.log.info(
      { host: bound.host, port: bound.port, capacity: o.capacity, relay: o.relay },
      o.relay ? 'relaying slices' : 'serving slices',
    );
  }

  /** What to announce to the coordinator (`serve`), or null before the server runs. */
  offer(controlAddress: string | undefined): ServeOffer | null {
    const b = this.bound;
    const mode = this.mode;
    if (!b || !mode) return null;
    const { host, port } = advertisedEndpoint(b, this.opts.advertise, controlAddress);
    return { host, port, capacity: mode.capacity, relay: mode.relay };
  }

  /** Stop serving (clients keep what they verified); returns the bytes served. */
  async close(): Promise<number> {
    const listener = this.listener;
    this.listener = null;
    if (listener) await new Promise<void>((resolve) => listener.close(() => resolve()));
    const server = this.server;
    this.server = null;
    if (!server) return 0;
    const served = server.bytesServed;
    await server.close();
    return served;
  }
}

/**
 * A relay's slices still arriving, forwarded as their wire bytes come (cut-through; compressed
 * ones stay compressed); the rest of a raw slice that became held meanwhile is its payload read
 * from the target (its used pieces).
 */
function liveSlices(store: SliceStore, fh: FileHandle, waitMs: number): LiveSlices {
  const m = store.manifest;
  return (i) =>
    store.inflight.open(i, {
      waitMs,
      held: () => store.has(i),
      readFrom: async (offset) => {
        const buf = Buffer.allocUnsafe(slicePayloadLength(m, i));
        const payload = await readPayload(fh, { path: m.name, size: m.size }, buf, slicePieces(m, i));
        return payload.subarray(offset);
      },
    });
}
