import type { Socket } from 'node:net';

/**
 * A socket's chunks as an async iterator, without copying them (a Readable's own iterator joins
 * buffered chunks into one new Buffer per read). Back-pressure comes from the socket itself: while
 * more than `highWater` bytes wait unread, the socket is paused (TCP then slows the sender); reading
 * them resumes it. Ends when the socket ends; throws the socket's error (e.g. the one passed to
 * `socket.destroy(err)`).
 */
export function socketChunks(socket: Socket, highWater = 256 * 1024): AsyncIterator<Buffer> {
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
    queued -= c.length;
    if (queued < highWater && socket.isPaused()) socket.resume();
    return c;
  };
  socket.on('data', (c: Buffer) => {
    queue.push(c);
    queued += c.length;
    if (queued >= highWater) socket.pause();
    settle();
  });
  socket.on('error', (err) => {
    failure ??= err;
    settle();
  });
  socket.on('close', () => {
    ended = true;
    settle();
  });
  return {
    next: () =>
      new Promise<IteratorResult<Buffer>>((resolve, reject) => {
        waiter = { resolve, reject };
        settle();
      }),
  };
}
