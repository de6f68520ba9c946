import { connect, type NetConnectOpts, type Socket } from 'node:net';
import { toCascadeError, type Frame, type FrameDecoder } from '@cascade/common';
import { dropFrames } from './receive-buffers.js';

/** What the socket brought since the last look: its bytes, and the frames they completed. */
export interface FrameBatch {
  bytes: number;
  frames: Frame[];
}

export interface FrameReader {
  readonly socket: Socket;
  /** The next batch (waits for one); done once the socket closed; throws the socket's error. */
  next(): Promise<IteratorResult<FrameBatch>>;
  /** Stop reading and give back the pooled bytes of frames nobody took (the transfer is over). */
  drop(): void;
}

/** Where headers and control frames are read (at most one frame's worth: never into a slice). */
const SCRATCH_BYTES = 64 * 1024;

/**
 * Connect and decode as the socket reads, with each SLICE body read straight into its pooled
 * buffer: the decoder (in copy mode) says where the next bytes belong (FrameDecoder.want) and the
 * socket reads them there, so a slice's bytes are never copied in user space (the hashing
 * threads read the same shared buffer, the target is written from it, a relay forwards it).
 * Headers and control frames are read into a scratch buffer, never more than the frame still
 * needs, so no read spans two frames.
 *
 * Back-pressure: while the frames not yet taken hold `highWater` bytes or more, the socket is
 * paused (TCP then slows the sender). A decoding error destroys the socket with it, which `next`
 * then throws. Nothing thrown here reaches the socket's reader (it would end the process).
 */
export function connectFrames(opts: NetConnectOpts, decoder: FrameDecoder, highWater: number): FrameReader {
  const scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  let into: Uint8Array | null = null;
  let stopped = false;
  const q = new FrameQueue(highWater);
  const where = (): Uint8Array => {
    into = null;
    if (stopped) return scratch;
    const w = decoder.want();
    if ('into' in w) return (into = w.into);
    return scratch.subarray(0, Math.min(w.limit, SCRATCH_BYTES));
  };
  const socket: Socket = connect({
    ...opts,
    onread: {
      buffer: () => {
        try {
          return where();
        } catch {
          return scratch;
        }
      },
      // Node reads into the buffer, calls this, then asks `buffer` where to read next.
      callback: (n: number, buf: Uint8Array) => {
        if (stopped) return true;
        try {
          if (into && buf !== into) throw new Error('a read landed outside the slice body it was given');
          const frames = into ? decoder.pushInto(n) : decoder.push(Buffer.from(buf.buffer, buf.byteOffset, n));
          q.add(n, frames);
        } catch (err) {
          stopped = true;
          socket.destroy(toCascadeError(err, 'ERR_INTERNAL'));
        }
        return true; // pausing is the queue's (socket.pause() stops the reads of an onread socket)
      },
    },
  } as NetConnectOpts);
  q.bind(socket);
  return {
    socket,
    next: q.next,
    drop: () => {
      stopped = true;
      // The next read already has its buffer: when that is a slice body (given back just below),
      // reading stops; when it is the scratch buffer, reads go on (ignored) until the socket closes.
      if (into) socket.pause();
      q.drop();
      decoder.discard();
    },
  };
}

/** Batches not yet taken, counted by the bytes they pin; pauses the socket past `highWater`. */
class FrameQueue {
  private socket: Socket | null = null;
  private batch: FrameBatch | null = null;
  private held = 0;
  private ended = false;
  private failure: Error | null = null;
  private waiter: { resolve: (r: IteratorResult<FrameBatch>) => void; reject: (e: Error) => void } | null = null;

  constructor(private readonly highWater: number) {}

  bind(s: Socket): void {
    this.socket = s;
    s.on('error', (err) => {
      this.failure ??= err;
      this.settle();
    });
    s.on('close', () => {
      this.ended = true;
      this.settle();
    });
  }

  add(bytes: number, frames: Frame[]): void {
    if (this.batch) {
      this.batch.bytes += bytes;
      this.batch.frames.push(...frames);
    } else this.batch = { bytes, frames };
    // A pooled body pins its whole buffer, however short: count that, so that a server sending
    // tiny slices cannot make the untaken frames pin many buffers for few bytes.
    for (const f of frames) this.held += f.release ? Math.max(f.length, f.chunks[0]?.buffer.byteLength ?? 0) : f.length;
    if (this.held >= this.highWater) this.socket?.pause();
    this.settle();
  }

  readonly next = (): Promise<IteratorResult<FrameBatch>> =>
    new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.settle();
    });

  drop(): void {
    if (this.batch) dropFrames(this.batch.frames, 0);
    this.batch = null;
  }

  private settle(): void {
    const w = this.waiter;
    if (!w) return;
    if (this.batch) {
      this.waiter = null;
      const b = this.batch;
      this.batch = null;
      this.held = 0;
      if (this.socket?.isPaused() && !this.ended) this.socket.resume();
      w.resolve({ value: b, done: false });
    } else if (this.failure || this.ended) {
      this.waiter = null;
      if (this.failure) w.reject(this.failure);
      else w.resolve({ value: undefined, done: true });
    }
  }
}
