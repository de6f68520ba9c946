import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CascadeError } from '../errors.js';
import { sliceDigest, type DigestAlgorithm } from '../manifest/digest.js';

// The worker's whole program, evaluated from a string so the one-file bundle needs no extra file.
// It hashes bytes where they lie in shared memory, or bytes the main thread copied into a slot
// transferred to it (transferred back with the answer).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', (m) => {
  const bytes = m.shared ? new Uint8Array(m.shared, m.offset, m.length) : new Uint8Array(m.slot, 0, m.length);
  let reply;
  try {
    const h = createHash(m.algorithm);
    h.update(bytes);
    reply = { id: m.id, hex: h.digest('hex'), slot: m.slot };
  } catch (err) {
    reply = { id: m.id, error: String((err && err.message) || err), slot: m.slot };
  }
  parentPort.postMessage(reply, m.slot ? [m.slot] : []);
});
`;
/** Most hashing threads a pool starts by default, however many cores there are. */
export const MAX_DEFAULT_HASH_WORKERS = 4;

/** Hashing threads for this machine: one per core, at most MAX_DEFAULT_HASH_WORKERS. */
export function defaultHashWorkers(): number {
  return Math.max(1, Math.min(MAX_DEFAULT_HASH_WORKERS, availableParallelism()));
}

/** Something that hashes a slice given as received chunks. */
export type SliceHashFn = (algorithm: DigestAlgorithm, chunks: readonly Buffer[]) => Promise<string>;

interface Job {
  id: number;
  algorithm: DigestAlgorithm;
  chunks: readonly Buffer[];
  length: number;
  resolve: (hex: string) => void;
  reject: (err: Error) => void;
}

interface Reply {
  id: number;
  hex?: string;
  error?: string;
  slot?: ArrayBuffer;
}

/** Jobs one thread holds at once: one hashed while the next is copied in (two slots). */
const JOBS_PER_WORKER = 2;

/** One thread and its slots (grown to the largest slice seen), each with the thread or here. */
class HashThread {
  readonly jobs = new Map<number, Job>();
  private readonly free: ArrayBuffer[] = [];
  constructor(readonly worker: Worker) {}

  get busy(): boolean {
    return this.jobs.size >= JOBS_PER_WORKER;
  }

  /**
   * A slice in one piece of shared memory (a shared BufferPool's) is hashed where it lies;
   * anything else is copied into a free slot (the one copy on the way) transferred with the job.
   */
  post(job: Job): void {
    const only = job.chunks.length === 1 ? job.chunks[0] : undefined;
    if (only && only.buffer instanceof SharedArrayBuffer) {
      this.jobs.set(job.id, job);
      const { buffer: shared, byteOffset: offset, length } = only;
      this.worker.postMessage({ id: job.id, algorithm: job.algorithm, shared, offset, length });
      return;
    }
    let slot = this.free.pop();
    if (!slot || slot.byteLength < job.length) slot = new ArrayBuffer(job.length);
    const view = Buffer.from(slot, 0, job.length);
    let at = 0;
    for (const c of job.chunks) at += c.copy(view, at);
    this.jobs.set(job.id, job);
    this.worker.postMessage({ id: job.id, algorithm: job.algorithm, slot, length: job.length }, [slot]);
  }

  /** The job `id` is answered; the slot it came back with is free again. */
  finish(id: number, slot: ArrayBuffer | undefined): Job | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    this.jobs.delete(id);
    if (slot && this.free.length < JOBS_PER_WORKER) this.free.push(slot);
    return job;
  }
}

/** Hash inline, as a promise (a bad algorithm rejects instead of throwing). */
function inlineDigest(algorithm: DigestAlgorithm, chunks: readonly Buffer[]): Promise<string> {
  try {
    return Promise.resolve(sliceDigest(algorithm, chunks));
  } catch (err) {
    return Promise.reject(new CascadeError('ERR_INTERNAL', `cannot hash with ${algorithm}`, { cause: err }));
  }
}

/**
 * Slice digests computed on a pool of worker threads, so the event loop keeps reading the socket
 * and writing the target while slices are hashed, several at once (MD5 runs at ~800 MB/s per
 * core). A slice the socket read straight into shared memory (the peer's slice buffers) is hashed
 * there, with nothing copied or transferred. Any other job's chunks are copied once into a slot
 * of the pool's own that is transferred to the thread and back (measured on 1 GiB: 20-40 % less
 * main-thread time than copying into shared memory, which V8 does with a slower relaxed-atomic
 * memmove, and less CPU than a structured clone, which copies twice); the caller keeps its chunks
 * for writing.
 * Threads start on first use; jobs beyond what the threads hold wait in FIFO order. A thread that
 * cannot start or dies is dropped, its jobs hashed inline; with no thread left, everything is
 * hashed inline. `size` 0 hashes inline from the start.
 */
export class DigestPool {
  readonly size: number;
  private threads: HashThread[] | null = null;
  private readonly waiting: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(size = defaultHashWorkers()) {
    if (!Number.isSafeInteger(size) || size < 0)
      throw new CascadeError('ERR_BAD_CONFIG', `hash workers: expected a whole number ≥ 0, got ${size}`);
    this.size = size;
  }

  /** Jobs sent to a thread or waiting for one. */
  get pending(): number {
    return this.waiting.length + (this.threads ?? []).reduce((n, t) => n + t.jobs.size, 0);
  }

  /** The pool's digest function, bound (for options that take a SliceHashFn). */
  readonly digest: SliceHashFn = (algorithm, chunks) => {
    const threads = this.closed ? [] : this.ensure();
    if (threads.length === 0) return inlineDigest(algorithm, chunks);
    return new Promise<string>((resolve, reject) => {
      const length = chunks.reduce((n, c) => n + c.length, 0);
      this.waiting.push({ id: this.nextId++, algorithm, chunks, length, resolve, reject });
      this.dispatch();
    });
  };

  /** Stop the threads; jobs not answered yet are hashed inline. */
  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads ?? [];
    this.threads = [];
    for (const t of threads) this.orphan(t);
    this.drainInline();
    await Promise.all(threads.map((t) => t.worker.terminate().catch(() => undefined)));
  }

  private ensure(): HashThread[] {
    if (this.threads) return this.threads;
    this.threads = [];
    for (let i = 0; i < this.size; i++) {
      try {
        this.threads.push(this.start());
      } catch {
        break; // no threads here (e.g. resource limits): the ones started, or inline
      }
    }
    return this.threads;
  }

  private start(): HashThread {
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.unref();
    const t = new HashThread(w);
    w.on('message', (m: Reply) => this.answer(t, m));
    w.on('error', () => this.drop(t));
    w.on('exit', () => this.drop(t));
    return t;
  }

  /** Hand waiting jobs to threads with a free slot, least loaded first. */
  private dispatch(): void {
    const threads = this.threads ?? [];
    while (this.waiting.length > 0) {
      let best: HashThread | null = null;
      for (const t of threads) if (!t.busy && (!best || t.jobs.size < best.jobs.size)) best = t;
      if (!best) return;
      best.post(this.waiting.shift() as Job);
    }
  }

  private answer(t: HashThread, m: Reply): void {
    const job = t.finish(m.id, m.slot);
    if (job) {
      if (m.hex !== undefined) job.resolve(m.hex);
      else inlineDigest(job.algorithm, job.chunks).then(job.resolve, job.reject);
    }
    this.dispatch();
  }

  /** A thread failed or exited: its jobs are hashed inline; the rest go on with the others. */
  private drop(t: HashThread): void {
    const threads = this.threads ?? [];
    const i = threads.indexOf(t);
    if (i < 0) return;
    threads.splice(i, 1);
    this.orphan(t);
    if (threads.length === 0) this.drainInline();
    else this.dispatch();
  }

  private orphan(t: HashThread): void {
    for (const job of t.jobs.values()) inlineDigest(job.algorithm, job.chunks).then(job.resolve, job.reject);
    t.jobs.clear();
  }

  private drainInline(): void {
    for (const job of this.waiting.splice(0)) inlineDigest(job.algorithm, job.chunks).then(job.resolve, job.reject);
  }
}

/**
 * @deprecated one thread: use DigestPool. Kept so older callers still build.
 */
export class DigestWorker extends DigestPool {
  constructor() {
    super(1);
  }
}
