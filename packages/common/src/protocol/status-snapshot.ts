import { z } from 'zod';
import { sessionOptionsSchema } from './session-options.js';

/**
 * The coordinator's status snapshot: what `GET /status` returns and what a `status` control
 * message carries, validated like every other message. Lists are bounded (the coordinator
 * cuts them at these lengths); unknown keys are dropped, so a newer coordinator may add fields.
 */
export const STATUS_LIST_LIMIT = 500;
export const STATUS_WARNING_LIMIT = 50;
/** Roster entries listed per session (the summary still counts every machine). */
export const STATUS_ROSTER_LIMIT = 1000;

const text = z.string().max(1024);
const time = z.number();
const count = z.number().int().nonnegative();
const amount = z.number().nonnegative();
/** An address as the coordinator saw it, or a MAC; null when unknown. */
const address = z.string().max(128).nullable();

/** `unopened`: peers wait for a session no seeder has opened (yet). */
export const sessionStateSchema = z.enum(['unopened', 'waiting', 'running', 'ended']);

/** A machine is shown by its unique name, the address the coordinator saw it at, and its MAC. */
const waitingSchema = z.object({ position: count, id: text, name: text, ip: address, mac: address, since: time });

const serverStatusSchema = z.object({
  id: text,
  name: text,
  host: text.nullable(),
  /** The address the coordinator saw it connect from. */
  ip: address,
  capacity: count,
  active: count,
  served: count,
  bytesServed: amount,
  relay: z.boolean(),
  quarantined: z.boolean(),
  /** Clients it was assigned could not reach it: it is given no new client (tried again later). */
  unreachable: z.boolean(),
});

const transferStatusSchema = z.object({
  client: text,
  clientName: text,
  clientIp: address,
  server: text,
  serverName: text,
  since: time,
  slices: count,
  bytes: amount,
  rate: amount,
});

export const outcomeSchema = z.enum(['waiting', 'transferring', 'imaged', 'failed', 'left', 'lost']);

/** One machine that joined the session and how it ended (or where it stands). */
export const rosterEntrySchema = z.object({
  id: text,
  name: text,
  ip: address,
  mac: address,
  outcome: outcomeSchema,
  /** For `failed`: the stable code and the reason the machine reported. */
  code: z.string().max(64).nullable(),
  reason: text.nullable(),
  joinedAt: time,
  imagedAt: time.nullable(),
  /** Name of the server it was imaged from. */
  source: text.nullable(),
});

/** `imaged 38 · failed 1 · waiting 1 of 40 expected`: waiting counts machines still in the run. */
export const rosterSummarySchema = z.object({
  imaged: count,
  failed: count,
  waiting: count,
  expected: count.nullable(),
});

/**
 * A session's sizes and traffic: the image's bytes, the bytes its filesystems use (the whole
 * image without a used map), the seeder's estimate of its wire size, and what its peers received:
 * payload bytes written and the wire bytes they took. `ratio` = payload ÷ wire (null before any).
 */
export const sessionBytesSchema = z.object({
  image: amount,
  used: amount,
  wireEstimate: amount.nullable(),
  wire: amount,
  payload: amount,
  ratio: amount.nullable(),
});

export const sessionStatusSchema = z.object({
  name: text,
  state: sessionStateSchema,
  image: z.object({ name: text, imageId: text, size: amount, slices: count }).nullable(),
  /** Sizes and traffic, once the session has an image (absent from older coordinators). */
  bytes: sessionBytesSchema.nullable().optional(),
  options: sessionOptionsSchema,
  openedAt: time.nullable(),
  startedAt: time.nullable(),
  endedAt: time.nullable(),
  endReason: text.nullable(),
  imaged: count,
  expected: count.nullable(),
  waiting: z.array(waitingSchema).max(STATUS_LIST_LIMIT),
  servers: z.array(serverStatusSchema).max(STATUS_LIST_LIMIT),
  transfers: z.array(transferStatusSchema).max(STATUS_LIST_LIMIT),
  progression: z.array(z.object({ at: time, imaged: count })).max(1000),
  /** Who served whom: client name → server name, for every finished client. */
  tree: z.array(z.object({ client: text, server: text, ip: address, mac: address })).max(10 * STATUS_LIST_LIMIT),
  /** Every machine that joined and how it ended (the first STATUS_ROSTER_LIMIT), and the counts. */
  roster: z.array(rosterEntrySchema).max(STATUS_ROSTER_LIMIT),
  summary: rosterSummarySchema,
  /** Servers holding the whole image (seeders, imaged peers) that can be given clients. */
  completeSources: count,
  /** The session has had no complete source for a while: only relays holding parts, or nobody. */
  noSource: z.boolean(),
});

/** What a session's end report holds (session-ended carries it to seeders; `--end-report FILE`). */
export const sessionReportSchema = sessionStatusSchema.pick({
  name: true,
  state: true,
  image: true,
  openedAt: true,
  startedAt: true,
  endedAt: true,
  endReason: true,
  summary: true,
  roster: true,
});

/**
 * A recent event an operator may act on. `event` names what the coordinator saw ('server-lost',
 * 'quarantined', 'transfer-failed', 'bad-slices', …). When the event is a client's report,
 * `reportedBy` names that client and `code` is the code it reported: its claim about a remote end,
 * never the coordinator's own error.
 */
export const statusWarningSchema = z.object({
  at: time,
  event: z.string().max(64),
  detail: text,
  reportedBy: text.optional(),
  code: z.string().max(64).optional(),
  /** The session it is about, when it is about one. */
  session: text.optional(),
});

export const statusSnapshotSchema = z.object({
  now: time,
  sessions: z.array(sessionStatusSchema).max(10_000),
  warnings: z.array(statusWarningSchema).max(STATUS_WARNING_LIMIT),
  /** Every session the coordinator holds, by scheduler state (listed or not). */
  counts: z.object({ pending: count, waiting: count, running: count, ended: count }).optional(),
  /** How many sessions the list left out (it holds at most STATUS_SESSION_LIMIT). */
  truncated: z.object({ sessions: count }).optional(),
});

export type SessionStatus = z.infer<typeof sessionStatusSchema>;
export type SessionBytes = z.infer<typeof sessionBytesSchema>;
export type SessionReport = z.infer<typeof sessionReportSchema>;
export type RosterStatus = z.infer<typeof rosterEntrySchema>;
export type RosterSummaryStatus = z.infer<typeof rosterSummarySchema>;
export type StatusWarning = z.infer<typeof statusWarningSchema>;
export type StatusSnapshot = z.infer<typeof statusSnapshotSchema>;
