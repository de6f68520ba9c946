import { CascadeError } from '../errors.js';

/**
 * A cheap walk over a msgpack frame's bytes, before anything is decoded: msgpack-lite has no
 * limit of its own, and 16 MiB of empty maps decode to 16 million objects (about 1 GiB of heap).
 * Counts values and containers (maps, arrays) and tracks nesting; allocates nothing per value.
 */
export interface MsgpackShapeLimits {
  /** Values of any kind, keys included. */
  maxValues: number;
  /** Maps and arrays (each one a JavaScript object once decoded). */
  maxContainers: number;
  maxDepth: number;
}

/** Generous for any control message a client sends (a manifest is one array of digest strings). */
export const CLIENT_SHAPE_LIMITS: MsgpackShapeLimits = {
  maxValues: 2 * 1024 * 1024,
  maxContainers: 4096,
  maxDepth: 32,
};

/** Bytes after the type byte before the payload (fixed-size values) — or -1 for length-prefixed ones. */
function fixedSize(b: number): number {
  if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) return 0;
  switch (b) {
    case 0xcc:
    case 0xd0:
      return 1;
    case 0xcd:
    case 0xd1:
      return 2;
    case 0xca:
    case 0xce:
    case 0xd2:
      return 4;
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return 8;
    case 0xd4:
      return 2;
    case 0xd5:
      return 3;
    case 0xd6:
      return 5;
    case 0xd7:
      return 9;
    case 0xd8:
      return 17;
    default:
      return -1;
  }
}

function readLength(buf: Buffer, at: number, bytes: number): number {
  if (at + bytes > buf.length) throw malformed('truncated length');
  if (bytes === 1) return buf[at]!;
  if (bytes === 2) return buf.readUInt16BE(at);
  return buf.readUInt32BE(at);
}

function malformed(why: string): CascadeError {
  return new CascadeError('ERR_MESSAGE_MALFORMED', `message is not valid msgpack: ${why}`);
}

/** [header bytes, payload bytes, children] of the value whose type byte is at `at`. */
function valueAt(buf: Buffer, at: number): [number, number, number] {
  const b = buf[at]!;
  const fixed = fixedSize(b);
  if (fixed >= 0) return [1 + fixed, 0, 0];
  if (b >= 0x80 && b <= 0x8f) return [1, 0, 2 * (b & 0x0f)];
  if (b >= 0x90 && b <= 0x9f) return [1, 0, b & 0x0f];
  if (b >= 0xa0 && b <= 0xbf) return [1, b & 0x1f, 0];
  const lenBytes: Record<number, number> = { 0xc4: 1, 0xc5: 2, 0xc6: 4, 0xd9: 1, 0xda: 2, 0xdb: 4 };
  if (lenBytes[b]) return [1 + lenBytes[b], readLength(buf, at + 1, lenBytes[b]), 0];
  const extBytes: Record<number, number> = { 0xc7: 1, 0xc8: 2, 0xc9: 4 };
  if (extBytes[b]) return [2 + extBytes[b], readLength(buf, at + 1, extBytes[b]), 0];
  if (b === 0xdc || b === 0xdd) return [b === 0xdc ? 3 : 5, 0, readLength(buf, at + 1, b === 0xdc ? 2 : 4)];
  if (b === 0xde || b === 0xdf) return [b === 0xde ? 3 : 5, 0, 2 * readLength(buf, at + 1, b === 0xde ? 2 : 4)];
  throw malformed(`type byte 0x${b.toString(16)}`);
}

/**
 * Throws ERR_MESSAGE_MALFORMED unless `buf` holds exactly one msgpack value within `limits`.
 * A container's children are counted against maxValues when its header is read, so a
 * declared-but-absent million entries is refused before any of them.
 */
export function checkMsgpackShape(buf: Buffer, limits: MsgpackShapeLimits): void {
  const pending: number[] = [1]; // values still expected at each open level
  let at = 0;
  let values = 1;
  let containers = 0;
  while (pending.length > 0) {
    if (pending[pending.length - 1] === 0) {
      pending.pop();
      continue;
    }
    if (at >= buf.length) throw malformed('truncated');
    pending[pending.length - 1]!--;
    const b = buf[at]!;
    const [head, payload, children] = valueAt(buf, at);
    at += head + payload;
    const container = (b >= 0x80 && b <= 0x9f) || (b >= 0xdc && b <= 0xdf);
    if (!container) continue;
    values += children;
    if (++containers > limits.maxContainers) throw malformed(`more than ${limits.maxContainers} maps and arrays`);
    if (values > limits.maxValues) throw malformed(`more than ${limits.maxValues} values`);
    if (pending.length >= limits.maxDepth) throw malformed(`nested deeper than ${limits.maxDepth}`);
    pending.push(children);
  }
  if (at > buf.length) throw malformed('truncated');
  if (at !== buf.length) throw malformed('trailing bytes after the message');
}
