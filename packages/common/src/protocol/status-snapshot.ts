import { z } from 'zod';
import { sessionOptionsSchema } from './session-options.js';

/**
 * The coordinator's status snapshot: what `GET /status` returns and what a `status` control
 * message carries, validated like every other message. Lists are bounded (the coordinator
 * cuts them at these lengths); unknown keys are dropped, so a newer coordinator may add fields.
 */
export const STATUS_LIST_LIMIT = 500;
export const STATUS_WARNING_LIMIT = 50;

const text = z.string().max(1024);
const time = z.number();
const count = z.number().int().nonnegative();
const amount = z.number().nonnegative();

export const sessionStateSchema = z.enum(['pending', 'waiting', 'running', 'ended']);

const waitingSchema = z.object({ position: count, id: text, name: text, since: time });

const serverStatusSchema = z.object({
  id: text,
  name: text,
  host: text.nullable(),
  capacity: count,
  active: count,
  served: count,
  bytesServed: amount,
  relay: z.boolean(),
  quarantined: z.boolean(),
});

const transferStatusSchema = z.object({
  client: text,
  clientName: text,
  server: text,
  serverName: text,
  since: time,
  slices: count,
  bytes: amount,
  rate: amount,
});

export const sessionStatusSchema = z.object({
  name: text,
  state: sessionStateSchema,
  image: z.object({ name: text, imageId: text, size: amount, slices: count }).nullable(),
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
  tree: z.array(z.object({ client: text, server: text })).max(10 * STATUS_LIST_LIMIT),
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
});

export const statusSnapshotSchema = z.object({
  now: time,
  sessions: z.array(sessionStatusSchema).max(10_000),
  warnings: z.array(statusWarningSchema).max(STATUS_WARNING_LIMIT),
});

export type SessionStatus = z.infer<typeof sessionStatusSchema>;
export type StatusWarning = z.infer<typeof statusWarningSchema>;
export type StatusSnapshot = z.infer<typeof statusSnapshotSchema>;
