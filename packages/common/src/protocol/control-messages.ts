import { z } from 'zod';

/** Bumped on any incompatible change to control or data messages. */
export const PROTOCOL_VERSION = 2;

/**
 * Control characters (C0, C1), format characters (bidi overrides and isolates such as U+202E,
 * zero-width marks) and line/paragraph separators: a name holding one could rewrite what an
 * operator's terminal or a log shows, so it is refused (ERR_MESSAGE_MALFORMED).
 */
export const UNSAFE_NAME_CHARS = /[\p{Cc}\p{Cf}\u2028\u2029]/u;
const name = z
  .string()
  .min(1)
  .max(128)
  .refine((v) => !UNSAFE_NAME_CHARS.test(v), { message: 'names may not hold control or bidi characters' });
const id = z
  .string()
  .min(1)
  .max(64)
  .refine((v) => !UNSAFE_NAME_CHARS.test(v), { message: 'ids may not hold control or bidi characters' });
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const host = z.string().min(1).max(255);
const port = z.number().int().min(1).max(65535);
const capacity = z.number().int().min(0).max(1024);
const bin = z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'expected binary' });

export const roleSchema = z.enum(['seeder', 'peer', 'observer', 'operator']);
export type Role = z.infer<typeof roleSchema>;

/** Session options set by the seeder (and changeable by an operator while waiting). */
export const sessionOptionsSchema = z.object({
  /** Start when this many clients wait. */
  startCount: count.optional(),
  /** Start this long after the session opened. */
  startAfterMs: count.optional(),
  /** Start only on an operator's `cascade start`. */
  startManual: z.boolean().optional(),
  /** End once this many machines are imaged. */
  endCount: count.optional(),
  /** End after this long with no client waiting and no transfer running. */
  lingerMs: count.optional(),
  /** Peers serve verified slices while still downloading. */
  relay: z.boolean().optional(),
});
export type SessionOptions = z.infer<typeof sessionOptionsSchema>;

export const serverRefSchema = z.object({ id, name, host, port });
export type ServerRef = z.infer<typeof serverRefSchema>;

/** Messages a seeder, peer, observer or operator sends to the coordinator. */
export const clientMessageSchemas = [
  z.object({
    type: z.literal('hello'),
    protocol: z.number().int(),
    role: roleSchema,
    id,
    name,
    session: name.optional(),
    auth: bin.optional(),
  }),
  z.object({
    type: z.literal('open-session'),
    manifest: z.record(z.string(), z.unknown()),
    options: sessionOptionsSchema,
  }),
  z.object({ type: z.literal('serve'), host, port, capacity, relay: z.boolean().optional() }),
  z.object({
    type: z.literal('want'),
    /** Slices already verified. */
    have: count,
    /** Set when re-announcing after a reconnect while a transfer from that server goes on. */
    activeServer: id.optional(),
  }),
  z.object({ type: z.literal('progress'), slices: count, bytes: count, rate: z.number().nonnegative() }),
  z.object({
    type: z.literal('done'),
    server: id,
    bytes: count,
    ms: count,
    /** Slices of the finishing transfer that failed their digest and were fetched again. */
    badSlices: count.optional(),
  }),
  z.object({
    type: z.literal('failed'),
    server: id,
    code: z.string().max(64),
    reason: z.string().max(1024),
    badSlices: z.array(count).max(100_000),
  }),
  z.object({ type: z.literal('leave'), reason: z.string().max(1024) }),
  z.object({ type: z.literal('start-session'), session: name }),
  z.object({ type: z.literal('end-session'), session: name }),
  z.object({ type: z.literal('set-session'), session: name, options: sessionOptionsSchema }),
  z.object({ type: z.literal('get-status'), session: name.optional() }),
] as const;

/** Messages the coordinator sends. */
export const coordinatorMessageSchemas = [
  /** First message on every connection: a fresh nonce for the hello's token proof (hello-auth.ts). */
  z.object({ type: z.literal('challenge'), nonce: bin, auth: z.boolean() }),
  z.object({ type: z.literal('welcome'), protocol: z.number().int(), id }),
  z.object({ type: z.literal('error'), code: z.string().max(64), message: z.string().max(4096) }),
  z.object({
    type: z.literal('session'),
    session: name,
    manifest: z.record(z.string(), z.unknown()),
    options: sessionOptionsSchema,
  }),
  z.object({ type: z.literal('queued'), position: count }),
  z.object({ type: z.literal('assign'), server: serverRefSchema, ticket: z.string().max(2048) }),
  z.object({ type: z.literal('serving'), serverId: id, ticketKey: bin }),
  z.object({ type: z.literal('session-ended'), session: name, reason: z.string().max(256) }),
  z.object({ type: z.literal('ack'), of: z.string().max(64), session: name.optional() }),
  z.object({ type: z.literal('status'), status: z.record(z.string(), z.unknown()) }),
] as const;

export const clientMessageSchema = z.discriminatedUnion('type', [...clientMessageSchemas]);
export const coordinatorMessageSchema = z.discriminatedUnion('type', [...coordinatorMessageSchemas]);

export type ClientMessage = z.infer<typeof clientMessageSchema>;
export type CoordinatorMessage = z.infer<typeof coordinatorMessageSchema>;
export type ControlMessage = ClientMessage | CoordinatorMessage;

export type ClientMessageOf<T extends ClientMessage['type']> = Extract<ClientMessage, { type: T }>;
export type CoordinatorMessageOf<T extends CoordinatorMessage['type']> = Extract<CoordinatorMessage, { type: T }>;

export const clientMessageTypes: ReadonlySet<string> = new Set(clientMessageSchemas.map((s) => s.shape.type.value));
export const coordinatorMessageTypes: ReadonlySet<string> = new Set(
  coordinatorMessageSchemas.map((s) => s.shape.type.value),
);
