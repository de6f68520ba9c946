import { z } from 'zod';
import { CascadeError } from '../errors.js';

/**
 * Coordinator discovery over UDP broadcast (broadcast passes where multicast is blocked):
 * a peer broadcasts a `discover` datagram; a coordinator answers it, unicast, with its ws URL.
 * JSON, one datagram each way, versioned, validated, and small.
 */
export const DISCOVERY_PORT = 7771;
export const DISCOVERY_VERSION = 1;
export const MAX_DISCOVERY_BYTES = 512;

const nonce = z.string().regex(/^[0-9a-f]{16,64}$/);

export const DiscoverRequestSchema = z.strictObject({
  cascade: z.literal('discover'),
  v: z.number().int().positive(),
  nonce,
  session: z.string().min(1).max(128).optional(),
});

export const DiscoverReplySchema = z.strictObject({
  cascade: z.literal('coordinator'),
  v: z.number().int().positive(),
  nonce,
  url: z
    .string()
    .max(256)
    .regex(/^wss?:\/\/\S+$/),
});

export type DiscoverRequest = z.infer<typeof DiscoverRequestSchema>;
export type DiscoverReply = z.infer<typeof DiscoverReplySchema>;

export function encodeDiscovery(msg: DiscoverRequest | DiscoverReply): Buffer {
  return Buffer.from(JSON.stringify(msg), 'utf8');
}

function decode<T>(buf: Buffer, schema: z.ZodType<T>, what: string): T {
  if (buf.length > MAX_DISCOVERY_BYTES)
    throw new CascadeError('ERR_DISCOVERY_MALFORMED', `${what} of ${buf.length} bytes exceeds ${MAX_DISCOVERY_BYTES}`);
  let json: unknown;
  try {
    json = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new CascadeError('ERR_DISCOVERY_MALFORMED', `${what} is not JSON`, { cause: err });
  }
  const r = schema.safeParse(json);
  if (!r.success) throw new CascadeError('ERR_DISCOVERY_MALFORMED', `${what} has the wrong shape`, { cause: r.error });
  return r.data;
}

/** A datagram a coordinator received: a validated request, or ERR_DISCOVERY_MALFORMED. */
export const decodeDiscoverRequest = (buf: Buffer): DiscoverRequest =>
  decode(buf, DiscoverRequestSchema, 'discovery request');

/** A datagram a peer received: a validated reply, or ERR_DISCOVERY_MALFORMED. */
export const decodeDiscoverReply = (buf: Buffer): DiscoverReply => decode(buf, DiscoverReplySchema, 'discovery reply');
