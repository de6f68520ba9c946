import { z } from 'zod';
import { sessionOptionsSchema } from './session-options.js';
import { sessionReportSchema, statusSnapshotSchema } from './status-snapshot.js';

export { sessionOptionsSchema, type SessionOptions } from './session-options.js';

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
/** A member's reconnect secret (issued by the coordinator, opaque to the client). */
const memberSecret = z.string().min(1).max(128);
const bin = z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'expected binary' });

export const roleSchema = z.enum(['seeder', 'peer', 'observer', 'operator']);
export type Role = z.infer<typeof roleSchema>;

export const serverRefSchema = z.object({ id, name, host, port });
export type ServerRef = z.infer<typeof serverRefSchema>;

/**
 * What a peer knows about the machine it runs on (MACs, IPv4 addresses, DMI vendor, product and
 * serial), sent in its hello so a lab's machines can be told apart. Informational: not covered by
 * the hello's token proof, and a coordinator may ignore it.
 */
export const machineSchema = z.object({
  macs: z.array(z.string().max(64)).max(32),
  ips: z.array(z.string().max(64)).max(32),
  vendor: z.string().max(128).optional(),
  product: z.string().max(128).optional(),
  serial: z.string().max(128).optional(),
});
export type MachineInfo = z.infer<typeof machineSchema>;

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
    /** The secret from this member's first `welcome`: proves a reconnect under a known id. */
    secret: memberSecret.optional(),
    /** Peers: the machine's identity (boot media report it). */
    machine: machineSchema.optional(),
  }),
  z.object({
    type: z.literal('open-session'),
    manifest: z.record(z.string(), z.unknown()),
    options: sessionOptionsSchema,
    /**
     * The session had started (the coordinator said so in `ack session-started`): a coordinator
     * that restarted since runs it at once instead of gating it again.
     */
    started: z.boolean().optional(),
    /**
     * The seeder's estimate of the bytes the whole image takes on the wire (its compressed slices;
     * slices not compressed yet counted whole), for status and metrics. Absent: not known.
     */
    wireBytes: count.optional(),
  }),
  z.object({ type: z.literal('serve'), host, port, capacity, relay: z.boolean().optional() }),
  z.object({
    type: z.literal('want'),
    /** Slices already verified. */
    have: count,
    /** Set when re-announcing after a reconnect while a transfer from that server goes on. */
    activeServer: id.optional(),
  }),
  z.object({
    type: z.literal('progress'),
    slices: count,
    bytes: count,
    rate: z.number().nonnegative(),
    /** Bytes received on data connections so far, in all (compressed slices count as sent). Optional: older peers. */
    wire: count.optional(),
    /** Payload bytes (used image bytes) received and written so far, in all. Optional: older peers. */
    payload: count.optional(),
  }),
  z.object({
    type: z.literal('done'),
    server: id,
    bytes: count,
    ms: count,
    /** The peer's final `progress` wire and payload totals (the bytes since its last report included). */
    wire: count.optional(),
    payload: count.optional(),
    /** Slices of the finishing transfer that failed their digest and were fetched again. */
    badSlices: count.optional(),
  }),
  z.object({
    type: z.literal('failed'),
    server: id,
    code: z.string().max(64),
    /** With code ERR_SERVER_REFUSED: the code the server sent (informational; never a local cause). */
    remoteCode: z.string().max(64).optional(),
    reason: z.string().max(1024),
    badSlices: z.array(count).max(100_000),
  }),
  /** A server dropped its client `client` (ERR_CLIENT_TOO_SLOW: below the rate floor while full). */
  z.object({ type: z.literal('dropped'), client: id, code: z.string().max(64) }),
  z.object({
    type: z.literal('leave'),
    reason: z.string().max(1024),
    /**
     * Why it ends, when it ends on a fault of its own (a peer: ERR_TARGET_UNUSABLE,
     * ERR_VERIFY_FAILED, …): the roster shows it as failed with this code and reason.
     * Without it (or ERR_STOPPED, ERR_INCOMPLETE) it simply left.
     */
    code: z.string().max(64).optional(),
  }),
  z.object({ type: z.literal('start-session'), session: name }),
  z.object({ type: z.literal('end-session'), session: name }),
  z.object({ type: z.literal('set-session'), session: name, options: sessionOptionsSchema }),
  z.object({ type: z.literal('get-status'), session: name.optional() }),
] as const;

/** Messages the coordinator sends. */
export const coordinatorMessageSchemas = [
  /** First message on every connection: a fresh nonce for the hello's token proof (hello-auth.ts). */
  z.object({ type: z.literal('challenge'), nonce: bin, auth: z.boolean() }),
  /** `secret`: this member's own, to send back as `hello.secret` on every reconnect (never shown). */
  z.object({ type: z.literal('welcome'), protocol: z.number().int(), id, secret: memberSecret.optional() }),
  z.object({ type: z.literal('error'), code: z.string().max(64), message: z.string().max(4096) }),
  z.object({
    type: z.literal('session'),
    session: name,
    manifest: z.record(z.string(), z.unknown()),
    options: sessionOptionsSchema,
  }),
  z.object({ type: z.literal('queued'), position: count }),
  /** `move`: the peer is transferring and switches to this server at once (no failed report, no backoff). */
  z.object({
    type: z.literal('assign'),
    server: serverRefSchema,
    ticket: z.string().max(2048),
    move: z.boolean().optional(),
  }),
  z.object({ type: z.literal('serving'), serverId: id, ticketKey: bin }),
  z.object({
    type: z.literal('session-ended'),
    session: name,
    reason: z.string().max(256),
    /** To seeders: the session's summary and roster (`cascade seed --end-report FILE`). */
    report: sessionReportSchema.optional(),
  }),
  z.object({ type: z.literal('ack'), of: z.string().max(64), session: name.optional() }),
  /** A status snapshot (status-snapshot.ts), validated like every other message. */
  z.object({ type: z.literal('status'), status: statusSnapshotSchema }),
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
