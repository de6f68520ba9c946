import { connect, type NetConnectOpts, type Socket } from 'node:net';
import { BufferPool } from '@cascade/common';

/** Most bytes one socket read takes (Node's own reader takes 64 KiB; bigger reads mean fewer callbacks: ~10 % less of a receiving peer's CPU at loopback rates). */
export const READ_BUFFER_BYTES = 256 * 1024;

/** A socket's chunks, one at a time; `done(chunk)` after each one handled (pooled reads: the buffer is reused). */
export interface SocketChunks extends AsyncIterator<Buffer> {
  done(chunk: Buffer): void;
}

/**
 * A socket's chunks as an async iterator, without copying them (a Readable's own iterator joins
 * buffered chunks into one new Buffer per read). Back-pressure comes from the socket itself: while
 * more than `highWater` bytes wait unread, the socket is paused (TCP then slows the sender); reading
 * them resumes it. Ends when the socket ends; throws the socket's error (e.g. the one passed to
 * `socket.destroy(err)`).
 */
export function socketChunks(socket: Socket, highWater = 256 * 1024): SocketChunks {
  const q = chunkQueue(socket, highWater);
  socket.on('data', q.push);
  return q;
}

/**
 * Connect, reading into buffers from `reads` instead of a fresh allocation per read (see
 * buffer-pool.ts): the caller must be done with each chunk (copied what it keeps) when it
 * calls `chunks.done(chunk)`, after which the buffer is read into again.
 */
export function connectPooled(
  opts: NetConnectOpts,
  reads: BufferPool,
  highWater: number,
): { socket: Socket; chunks: SocketChunks } {
  const lent = new Map<ArrayBufferLike, () => void>();
  const next = (): Buffer => {
    const { buf, release } = reads.take();
    lent.set(buf.buffer, release);
    return buf;
  };
  let q: ReturnType<typeof chunkQueue> | null = null;
  const socket = connect({
    ...opts,
    onread: {
      buffer: next,
      // Node reads into the buffer, calls this, then asks `next` for the one to read into next.
      callback: (n: number, buf: Uint8Array) => {
        q?.push(Buffer.from(buf.buffer, buf.byteOffset, n));
        return true; // pausing is the queue's (socket.pause() stops the reads of an onread socket)
      },
    },
  } as NetConnectOpts);
  // A queued chunk pins a whole read buffer, however few bytes it holds: count buffers, so that
  // a server sending tiny segments cannot make the queue pin many buffers for few bytes.
  q = chunkQueue(
    socket,
    highWater,
    (c) => {
      const release = lent.get(c.buffer);
      lent.delete(c.buffer);
      release?.();
    },
    reads.size,
  );
  return { socket, chunks: q };
}

function chunkQueue(
  socket: Socket,
  highWater: number,
  recycle?: (chunk: Buffer) => void,
  chunkCost?: number,
): SocketChunks & { push: (c: Buffer) => void } {
  const cost = (c: Buffer): number => chunkCost ?? c.length;
  const queue: Buffer[] = [];
  let queued = 0;
  let ended = false;
  let failure: Error | null = null;
  let waiter: { resolve: (r: IteratorResult<Buffer>) => void; reject: (e: Error) => void } | null = null;
  const settle = (): void => {
    const w = waiter;
    if (!w) return;
    if (queue.length > 0) {
      waiter = null;
      w.resolve({ value: take(), done: false });
    } else if (failure) {
      waiter = null;
      w.reject(failure);
    } else if (ended) {
      waiter = null;
      w.resolve({ value: undefined, done: true });
    }
  };
  const take = (): Buffer => {
    const c = queue.shift() as Buffer;
    queued -= cost(c);
    if (queued < highWater && socket.isPaused()) socket.resume();
    return c;
  };
  socket.on('error', (err) => {
    failure ??= err;
    settle();
  });
  socket.on('close', () => {
    ended = true;
    settle();
  });
  return {
    push: (c: Buffer) => {
      queue.push(c);
      queued += cost(c);
      if (queued >= highWater) socket.pause();
      settle();
    },
    next: () =>
      new Promise<IteratorResult<Buffer>>((resolve, reject) => {
        waiter = { resolve, reject };
        settle();
      }),
    done: (c: Buffer) => recycle?.(c),
  };
}
