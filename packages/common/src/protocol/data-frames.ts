import msgpack from 'msgpack-lite';
import type { BufferPool } from '../data/buffer-pool.js';
import { CascadeError } from '../errors.js';

/**
 * Data-plane framing. Every frame is a 12-byte header followed by `length` payload bytes:
 *
 *   offset 0  u8   type
 *   offset 1  u8   flags
 *   offset 2  u16  magic 0xCA5C (catches a stream that is not cascade's, or out of sync)
 *   offset 4  u32  index (slice index for GET and SLICE; 0 otherwise)
 *   offset 8  u32  length of the payload
 *
 * Client → server: HELLO {session, imageId, ticket} (msgpack), then GET index (no payload), BYE.
 * Server → client: WELCOME, SLICE index + raw bytes, ERROR {code, message} (msgpack), then close.
 */
export const FrameType = {
  HELLO: 1,
  WELCOME: 2,
  GET: 3,
  SLICE: 4,
  ERROR: 5,
  BYE: 6,
} as const;
export type FrameTypeValue = (typeof FrameType)[keyof typeof FrameType];

export const FrameFlags = {
  /** SLICE: the slice is all zeros; no payload follows. */
  ZERO: 1,
  /**
   * SLICE: the payload is one zstd frame holding the slice's payload (its used bytes); without
   * it the payload is those bytes as they are. Relays forward it as it came.
   */
  COMPRESSED: 2,
} as const;

export const HEADER_BYTES = 12;
export const FRAME_MAGIC = 0xca5c;
/** Ceiling for HELLO, WELCOME and ERROR payloads. */
export const MAX_CONTROL_FRAME_BYTES = 64 * 1024;

export interface FrameHeader {
  type: FrameTypeValue;
  flags: number;
  index: number;
  length: number;
}

/** A decoded frame. `chunks` hold the payload as received (no copy); `payload()` joins them. */
export interface Frame extends FrameHeader {
  chunks: Buffer[];
  /**
   * Set when the payload lies in a pooled buffer (a decoder with `copyTo`): the frame holds one
   * reference to it, given back with this (once) when the bytes are no longer needed.
   */
  release?: () => void;
}

export function encodeHeader(type: FrameTypeValue, index: number, length: number, flags = 0): Buffer {
  const b = Buffer.allocUnsafe(HEADER_BYTES);
  b.writeUInt8(type, 0);
  b.writeUInt8(flags, 1);
  b.writeUInt16BE(FRAME_MAGIC, 2);
  b.writeUInt32BE(index >>> 0, 4);
  b.writeUInt32BE(length >>> 0, 8);
  return b;
}

function encodeWithBody(type: FrameTypeValue, body: unknown): Buffer {
  const payload = msgpack.encode(body);
  if (payload.length > MAX_CONTROL_FRAME_BYTES) {
    throw new CascadeError(
      'ERR_FRAME_TOO_LARGE',
      `frame body of ${payload.length} bytes exceeds ${MAX_CONTROL_FRAME_BYTES}`,
    );
  }
  return Buffer.concat([encodeHeader(type, 0, payload.length), payload]);
}

export interface DataHello {
  session: string;
  imageId: string;
  ticket: string;
  client: string;
}

export const encodeHello = (h: DataHello): Buffer => encodeWithBody(FrameType.HELLO, h);
export const encodeWelcome = (): Buffer => encodeHeader(FrameType.WELCOME, 0, 0);
export const encodeGet = (index: number): Buffer => encodeHeader(FrameType.GET, index, 0);
export const encodeBye = (): Buffer => encodeHeader(FrameType.BYE, 0, 0);
export const encodeError = (code: string, message: string): Buffer =>
  encodeWithBody(FrameType.ERROR, { code, message: message.slice(0, 1024) });
/** Header of a SLICE frame; the raw slice bytes are written after it as they are. */
export const encodeSliceHeader = (index: number, length: number, flags = 0): Buffer =>
  encodeHeader(FrameType.SLICE, index, length, flags);

/** Join a frame's chunks (one copy, only when a caller really needs one buffer). */
export function framePayload(f: Frame): Buffer {
  return f.chunks.length === 1 ? (f.chunks[0] as Buffer) : Buffer.concat(f.chunks);
}

/** Decode the msgpack body of HELLO or ERROR frames, with shape checks. */
export function decodeHelloBody(f: Frame): DataHello {
  const body = decodeBody(f);
  const { session, imageId, ticket, client } = body as Record<string, unknown>;
  if (
    typeof session !== 'string' ||
    typeof imageId !== 'string' ||
    typeof ticket !== 'string' ||
    typeof client !== 'string'
  ) {
    throw new CascadeError('ERR_FRAME_MALFORMED', 'HELLO needs session, imageId, ticket and client strings');
  }
  return { session, imageId, ticket, client };
}

export function decodeErrorBody(f: Frame): { code: string; message: string } {
  const body = decodeBody(f) as Record<string, unknown>;
  const text = (v: unknown): string | undefined =>
    typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
  return { code: text(body.code) ?? 'ERR_FRAME_MALFORMED', message: text(body.message) ?? '' };
}

function decodeBody(f: Frame): object {
  let body: unknown;
  try {
    body = msgpack.decode(framePayload(f));
  } catch (err) {
    throw new CascadeError('ERR_FRAME_MALFORMED', 'frame body is not valid msgpack', { cause: err });
  }
  if (body === null || typeof body !== 'object')
    throw new CascadeError('ERR_FRAME_MALFORMED', 'frame body is not a map');
  return body;
}

/**
 * Told of a SLICE frame's body as it arrives, before the frame is whole (relay cut-through). The
 * frame's end is the whole Frame that `push` returns. Must not throw.
 */
export interface SliceBodyListener {
  /** A SLICE header was decoded: `length` body bytes follow (none for a ZERO slice). */
  sliceStart(index: number, length: number, flags: number): void;
  /** Body bytes of the current SLICE frame: subarrays of the pushed chunk, never copies. */
  sliceData(index: number, chunk: Buffer): void;
}

export interface FrameDecoderOptions {
  /** Largest SLICE payload accepted. */
  maxSliceBytes: number;
  /** Frame types this side accepts; anything else is an error. */
  accept: readonly FrameTypeValue[];
  /** Hears SLICE bodies as they arrive (the whole frames are still returned by `push`). */
  sliceBody?: SliceBodyListener | undefined;
  /**
   * Copy mode: the decoder keeps no reference to a pushed chunk (the caller may reuse it as soon
   * as `push` returns). SLICE bodies are copied into a buffer taken from this pool (one per
   * frame, the frame's `release` gives it back; `sliceBody` hears subarrays of it), other frames'
   * few bytes into buffers of their own.
   */
  copyTo?: BufferPool | undefined;
}

/**
 * Push decoder: feed it socket chunks in any split; it returns whole frames. Payload bytes are
 * kept as subarrays of the incoming chunks, never copied. Throws CascadeError on a bad header or
 * an oversized frame; after a throw the decoder is unusable (close the connection).
 */
export class FrameDecoder {
  private header: FrameHeader | null = null;
  private chunks: Buffer[] = [];
  private have = 0;
  /** Copy mode: the pooled buffer the current SLICE body is copied into. */
  private body: { buf: Buffer; release: () => void } | null = null;
  private pending: Buffer | null = null;
  private readonly accept: Set<number>;

  constructor(private readonly opts: FrameDecoderOptions) {
    this.accept = new Set(opts.accept);
  }

  /** Bytes buffered towards the next frame. */
  get buffered(): number {
    return this.have + (this.pending?.length ?? 0);
  }

  push(chunk: Buffer): Frame[] {
    const out: Frame[] = [];
    let buf = chunk;
    if (this.pending) {
      // Complete a split header: copy only its missing bytes, never the body behind them.
      const fill = Math.min(HEADER_BYTES - this.pending.length, buf.length);
      const head = Buffer.concat([this.pending, buf.subarray(0, fill)]);
      this.pending = head.length < HEADER_BYTES ? head : null;
      if (this.pending) return out;
      this.header = this.startFrame(head);
      buf = buf.subarray(fill);
    }
    for (;;) {
      if (this.header === null) {
        if (buf.length === 0) break;
        if (buf.length < HEADER_BYTES) {
          this.pending = Buffer.from(buf); // tiny copy: never more than 11 bytes
          break;
        }
        this.header = this.startFrame(buf);
        buf = buf.subarray(HEADER_BYTES);
      }
      const h = this.header;
      const need = h.length - this.have;
      if (need > 0 && buf.length > 0) {
        const take = this.keep(buf.subarray(0, Math.min(need, buf.length)));
        if (h.type === FrameType.SLICE) this.opts.sliceBody?.sliceData(h.index, take);
        if (!this.body) this.chunks.push(take); // a pooled body is the frame's one chunk (finish)
        this.have += take.length;
        buf = buf.subarray(take.length);
      }
      if (this.have < h.length) break; // every byte pushed is taken
      out.push(this.finish(h));
    }
    return out;
  }

  /**
   * Where the next bytes of the stream belong, so a reader can have the socket read them there
   * (connectFrames): `into`, the rest of the pooled SLICE body being received (copy mode; the
   * bytes read there are then given with `pushInto`, never copied), or else at most `limit` bytes
   * for `push` (the rest of a header or of a control frame's body, so no read spans two frames).
   */
  want(): { into: Buffer } | { limit: number } {
    const h = this.header;
    if (h === null) return { limit: HEADER_BYTES - (this.pending?.length ?? 0) };
    if (this.body) return { into: this.body.buf.subarray(this.have, h.length) };
    return { limit: Math.max(1, h.length - this.have) };
  }

  /**
   * `n` bytes were read straight into the view `want()` returned as `into` (the current SLICE
   * body, at the offset reached): count them, tell the slice listener, and return the frame once
   * the body is whole.
   */
  pushInto(n: number): Frame[] {
    const h = this.header;
    const body = this.body;
    if (h === null || !body || !Number.isSafeInteger(n) || n <= 0 || this.have + n > h.length)
      throw new CascadeError('ERR_INTERNAL', `${n} bytes read into a slice body that does not expect them`);
    const part = body.buf.subarray(this.have, this.have + n);
    this.opts.sliceBody?.sliceData(h.index, part);
    this.have += n;
    return this.have < h.length ? [] : [this.finish(h)];
  }

  /** Drop a SLICE body being copied (the connection is closing): its buffer may be reused. */
  discard(): void {
    this.body?.release();
    this.body = null;
  }

  private finish(h: FrameHeader): Frame {
    const body = this.body;
    let f: Frame;
    if (body) f = { ...h, chunks: [body.buf.subarray(0, h.length)], release: body.release };
    else f = { ...h, chunks: this.chunks };
    this.header = null;
    this.chunks = [];
    this.have = 0;
    this.body = null;
    return f;
  }

  /** The bytes to keep of a pushed chunk: the chunk itself, or in copy mode a copy. */
  private keep(part: Buffer): Buffer {
    const pool = this.opts.copyTo;
    if (!pool) return part;
    if (!this.body) return Buffer.from(part); // a control frame's few bytes
    const at = this.have;
    part.copy(this.body.buf, at);
    return this.body.buf.subarray(at, at + part.length);
  }

  private startFrame(b: Buffer): FrameHeader {
    const h = this.parseHeader(b);
    const pool = this.opts.copyTo;
    if (pool && h.type === FrameType.SLICE && h.length > 0 && h.length <= pool.size) this.body = pool.take();
    if (h.type === FrameType.SLICE) this.opts.sliceBody?.sliceStart(h.index, h.length, h.flags);
    return h;
  }

  private parseHeader(b: Buffer): FrameHeader {
    const type = b.readUInt8(0);
    const flags = b.readUInt8(1);
    const magic = b.readUInt16BE(2);
    const index = b.readUInt32BE(4);
    const length = b.readUInt32BE(8);
    if (magic !== FRAME_MAGIC)
      throw new CascadeError('ERR_FRAME_MALFORMED', 'bad frame magic: stream is not a cascade data connection');
    if (!this.accept.has(type)) throw new CascadeError('ERR_FRAME_MALFORMED', `unexpected frame type ${type}`);
    const limit =
      type === FrameType.SLICE
        ? this.opts.maxSliceBytes
        : type === FrameType.GET || type === FrameType.WELCOME || type === FrameType.BYE
          ? 0
          : MAX_CONTROL_FRAME_BYTES;
    if (length > limit) {
      throw new CascadeError(
        'ERR_FRAME_TOO_LARGE',
        `frame type ${type} of ${length} bytes exceeds the limit of ${limit}`,
      );
    }
    return { type: type as FrameTypeValue, flags, index, length };
  }
}
