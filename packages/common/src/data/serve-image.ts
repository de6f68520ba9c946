import type { FileHandle } from 'node:fs/promises';
import type { Server } from 'node:net';
import type { Logger } from 'pino';
import { CascadeError } from '../errors.js';
import type { Manifest } from '../manifest/manifest.js';
import { verifyTicket } from '../protocol/ticket.js';
import { RateLimiter } from './rate-limiter.js';
import { SliceServer } from './slice-server.js';
import {
  CompressedSliceSource,
  CorruptingSliceSource,
  FileSliceSource,
  VerifyingSliceSource,
  type LiveSlices,
  type SliceHasher,
  type SliceSource,
} from './slice-source.js';
import type { ClientFloorOptions } from './client-floor.js';

export interface ServeImageOptions {
  logger: Logger;
  manifest: Manifest;
  fh: FileHandle;
  /** Which slices may be served (default: all). */
  held?: (index: number) => boolean;
  /** Relay: wait (bounded) for a slice not held yet instead of refusing it. */
  waitFor?: (index: number) => Promise<void>;
  /** Relay cut-through: slices still arriving, forwarded as their bytes come. */
  live?: LiveSlices | undefined;
  /** This server's id, as the coordinator knows it (tickets name it). */
  serverId: string;
  session: string;
  /** The ticket key the coordinator gave this server, or null before registration. */
  ticketKey: () => Uint8Array | null;
  capacity: number;
  listen: { host: string; port: number };
  /** Uplink cap in bytes/s. */
  rate?: number | undefined;
  fault?: { every?: number; once?: number[] } | undefined;
  /**
   * Check every slice read against the manifest before sending it (a seeder's block device, or
   * --verify-reads); `onChanged` hears once that the image no longer matches (ERR_IMAGE_CHANGED).
   */
  verify?: { hash: SliceHasher; onChanged: (err: CascadeError) => void } | undefined;
  /** A slice's compressed payload, when it has one (the seeder's cache); null: send it raw. */
  compressed?: ((index: number) => Promise<Buffer | null>) | undefined;
  /** A listener already bound to `listen` (bindListener): taken over instead of binding again. */
  prebound?: Server | undefined;
  /** The rate floor for clients while full (default CLIENT_FLOOR_DEFAULTS; null: none, a relay). */
  clientFloor?: ClientFloorOptions | null | undefined;
}

/**
 * Serve an image file (a seeder's image or a peer's verified target) to ticket holders: the
 * one way every server role starts its slice server.
 */
export async function serveImage(
  o: ServeImageOptions,
): Promise<{ server: SliceServer; bound: { host: string; port: number } }> {
  let source: SliceSource = new FileSliceSource(o.manifest, o.fh, o.held, o.waitFor, o.live);
  if (o.verify) source = new VerifyingSliceSource(source, o.verify.hash, o.verify.onChanged);
  if (o.compressed) source = new CompressedSliceSource(source, o.compressed);
  if (o.fault) source = new CorruptingSliceSource(source, o.fault);
  const server = new SliceServer({
    logger: o.logger,
    source,
    capacity: o.capacity,
    host: o.listen.host,
    port: o.listen.port,
    rateLimiter: o.rate ? new RateLimiter(o.rate) : undefined,
    ...(o.clientFloor === undefined ? {} : { clientFloor: o.clientFloor }),
    authorize: (hello) => {
      const key = o.ticketKey();
      if (!key) throw new CascadeError('ERR_TICKET_INVALID', 'ticket refused: not registered with a coordinator yet');
      return verifyTicket(hello.ticket, key, {
        server: o.serverId,
        imageId: o.manifest.imageId,
        session: o.session,
        now: Date.now(),
      });
    },
  });
  const bound = await server.listen(o.prebound);
  return { server, bound };
}
