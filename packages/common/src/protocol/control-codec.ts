import msgpack from 'msgpack-lite';
import type { z } from 'zod';
import { CascadeError } from '../errors.js';
import {
  clientMessageSchema,
  clientMessageTypes,
  coordinatorMessageSchema,
  coordinatorMessageTypes,
  type ClientMessage,
  type CoordinatorMessage,
  type ControlMessage,
} from './control-messages.js';
import { checkMsgpackShape, CLIENT_SHAPE_LIMITS, type MsgpackShapeLimits } from './msgpack-shape.js';

/** Default ceiling for one control message (a manifest for a 100 GiB image fits easily). */
export const MAX_CONTROL_MESSAGE_BYTES = 16 * 1024 * 1024;

const codec = msgpack.createCodec({ binarraybuffer: false, preset: false });

/** Encode one control message as the payload of one binary ws frame. */
export function encodeControl(msg: ControlMessage): Buffer {
  return msgpack.encode(msg, { codec });
}

/** Decode exactly one msgpack value; trailing or missing bytes are malformed. */
function decodeSingle(data: Uint8Array): unknown {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const decoder = msgpack.Decoder({ codec });
  const values: unknown[] = [];
  decoder.on('data', (v: unknown) => values.push(v));
  try {
    decoder.decode(buf);
  } catch (err) {
    throw new CascadeError('ERR_MESSAGE_MALFORMED', 'message is not valid msgpack', { cause: err });
  }
  // msgpack-lite keeps the bytes it has not consumed in `buffer` (not in its type declarations)
  const rest: unknown = Reflect.get(decoder, 'buffer');
  if (rest !== undefined && !Buffer.isBuffer(rest)) throw new CascadeError('ERR_MESSAGE_MALFORMED', 'decoder state');
  if (values.length !== 1 || (rest !== undefined && decoder.offset !== rest.length)) {
    throw new CascadeError('ERR_MESSAGE_MALFORMED', 'message must be exactly one msgpack value');
  }
  return values[0];
}

function decodeWith<T>(
  data: Uint8Array,
  schema: z.ZodType<T>,
  known: ReadonlySet<string>,
  maxBytes: number,
  shape?: MsgpackShapeLimits,
): T {
  if (data.byteLength > maxBytes) {
    throw new CascadeError('ERR_MESSAGE_TOO_LARGE', `message of ${data.byteLength} bytes exceeds ${maxBytes}`);
  }
  if (shape) checkMsgpackShape(Buffer.from(data.buffer, data.byteOffset, data.byteLength), shape);
  const raw = decodeSingle(data);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || Buffer.isBuffer(raw)) {
    throw new CascadeError('ERR_MESSAGE_MALFORMED', 'message is not a msgpack map');
  }
  if (Object.getPrototypeOf(raw) !== Object.prototype) {
    throw new CascadeError('ERR_MESSAGE_MALFORMED', 'message map has a forbidden key');
  }
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string') throw new CascadeError('ERR_MESSAGE_MALFORMED', 'message has no type');
  if (!known.has(type)) {
    throw new CascadeError('ERR_MESSAGE_UNKNOWN_TYPE', `unknown message type "${type.slice(0, 64)}"`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw new CascadeError('ERR_MESSAGE_MALFORMED', `invalid ${type} message${where}: ${issue?.message ?? 'invalid'}`);
  }
  return r.data;
}

/**
 * Decode and validate a message sent to the coordinator; its raw bytes are checked against
 * CLIENT_SHAPE_LIMITS before they are decoded. Throws CascadeError.
 */
export function decodeClientMessage(data: Uint8Array, maxBytes = MAX_CONTROL_MESSAGE_BYTES): ClientMessage {
  return decodeWith(data, clientMessageSchema, clientMessageTypes, maxBytes, CLIENT_SHAPE_LIMITS);
}

/** Decode and validate a message sent by the coordinator. Throws CascadeError. */
export function decodeCoordinatorMessage(data: Uint8Array, maxBytes = MAX_CONTROL_MESSAGE_BYTES): CoordinatorMessage {
  return decodeWith(data, coordinatorMessageSchema, coordinatorMessageTypes, maxBytes);
}
