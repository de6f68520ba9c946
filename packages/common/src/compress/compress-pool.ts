/**
 * Slices compressed on worker threads: the seeder's compressed cache and `cascade manifest` use
 * every core, and the event loop keeps serving. Like the hashing threads (digest-worker.ts), each
 * thread runs a program given as source text (ZSTD_THREAD_SOURCE, its zstd module in `workerData`),
 * so the one-file bundle needs no extra file.
 *
 * @example
 * ```ts
 * const pool = new CompressPool(); // one thread per core (at most MAX_DEFAULT_COMPRESS_WORKERS)
 * const wire = (await pool.compress(slice, ZSTD_DEFAULT_LEVEL)) ?? slice; // null: send it raw
 * await pool.close();
 * ```
 */

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CascadeError } from '../errors.js';
import { compressSlice, ZSTD_MAX_LEVEL, ZSTD_MIN_LEVEL } from './slice-compression.js';
import { ZSTD_THREAD_SOURCE, zstdThreadData } from './zstd-thread.js';

// The thread's program: `compressHere` (ZSTD_THREAD_SOURCE) on each job; the answer's bytes are
// copied to a buffer of their own when they share one, and transferred back.
const COMPRESS_SOURCE = `
${ZSTD_THREAD_SOURCE}
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => {
  const r = compressHere(new Uint8Array(m.src), m.level);
  if (!r.wire) return parentPort.postMessage({ id: m.id, ...r });
  const own = r.wire.byteOffset === 0 && r.wire.byteLength === r.wire.buffer.byteLength ? r.wire : r.wire.slice();
  parentPort.postMessage({ id: m.id, wire: own }, [own.buffer]);
});
`;

/** Most compressing threads a pool starts by default. */
export const MAX_DEFAULT_COMPRESS_WORKERS = 16;

/** Compressing threads for this machine: one per core, at most MAX_DEFAULT_COMPRESS_WORKERS. */
export function defaultCompressWorkers(): number {
  return Math.max(1, Math.min(MAX_DEFAULT_COMPRESS_WORKERS, availableParallelism()));
}

interface CompressJob {
  id: number;
  src: Uint8Array;
  level: number;
  resolve: (wire: Uint8Array | null) => void;
  reject: (err: Error) => void;
}

interface CompressReply {
  id: number;
  wire?: Uint8Array;
  raw?: boolean;
  error?: string;
}

/** A job done on this thread (no thread could take it). */
function inlineCompress(job: CompressJob): void {
  try {
    job.resolve(compressSlice(job.src, job.level));
  } catch (err) {
    job.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/**
 * zstd on a pool of worker threads. `compress` answers as compressSlice: one zstd frame, or null
 * when the slice would not shrink. Jobs go to the thread with the fewest; threads start on first
 * use. A thread that cannot start or dies is dropped and its jobs are done inline; `size` 0
 * compresses inline from the start.
 */
export class CompressPool {
  readonly size: number;
  private threads: Array<{ worker: Worker; jobs: Map<number, CompressJob> }> | null = null;
  private nextId = 1;
  private closed = false;

  constructor(size = defaultCompressWorkers()) {
    if (!Number.isSafeInteger(size) || size < 0)
      throw new CascadeError('ERR_BAD_CONFIG', `compress workers: expected a whole number ≥ 0, got ${size}`);
    this.size = size;
  }

  /** `src` compressed at `level` (copied: the caller keeps its buffer), or null when it would not shrink. */
  readonly compress = (src: Uint8Array, level: number): Promise<Uint8Array | null> => {
    if (!Number.isInteger(level) || level < ZSTD_MIN_LEVEL || level > ZSTD_MAX_LEVEL)
      return Promise.reject(
        new CascadeError('ERR_BAD_CONFIG', `zstd level: expected ${ZSTD_MIN_LEVEL}..${ZSTD_MAX_LEVEL}, got ${level}`),
      );
    return new Promise((resolve, reject) => {
      const job = { id: this.nextId++, src, level, resolve, reject };
      const threads = this.closed ? [] : this.ensure();
      let best = threads[0];
      for (const t of threads) if (best && t.jobs.size < best.jobs.size) best = t;
      if (!best) return inlineCompress(job);
      best.jobs.set(job.id, job);
      const copy = new Uint8Array(src.length);
      copy.set(src);
      best.worker.postMessage({ id: job.id, src: copy.buffer, level }, [copy.buffer]);
    });
  };

  /** Stop the threads; jobs not answered yet are done inline. */
  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads ?? [];
    this.threads = [];
    for (const t of threads) {
      for (const job of t.jobs.values()) inlineCompress(job);
      t.jobs.clear();
    }
    await Promise.all(threads.map((t) => t.worker.terminate().catch(() => undefined)));
  }

  private ensure(): Array<{ worker: Worker; jobs: Map<number, CompressJob> }> {
    if (this.threads) return this.threads;
    this.threads = [];
    let workerData: unknown;
    try {
      workerData = zstdThreadData();
    } catch {
      return this.threads; // no zstd module for threads here: inline
    }
    for (let i = 0; i < this.size; i++) {
      try {
        this.threads.push(this.start(workerData));
      } catch {
        break; // no more threads here (e.g. resource limits): the ones started, or inline
      }
    }
    return this.threads;
  }

  private start(workerData: unknown): { worker: Worker; jobs: Map<number, CompressJob> } {
    const worker = new Worker(COMPRESS_SOURCE, { eval: true, workerData });
    worker.unref();
    const t = { worker, jobs: new Map<number, CompressJob>() };
    worker.on('message', (m: CompressReply) => {
      const job = t.jobs.get(m.id);
      if (!job) return;
      t.jobs.delete(m.id);
      if (m.wire) job.resolve(m.wire);
      else if (m.raw) job.resolve(null);
      else inlineCompress(job); // the thread's zstd failed: this thread's answers (or its error)
    });
    const drop = (): void => {
      const i = this.threads?.indexOf(t) ?? -1;
      if (i >= 0) this.threads?.splice(i, 1);
      for (const job of t.jobs.values()) inlineCompress(job);
      t.jobs.clear();
    };
    worker.on('error', drop);
    worker.on('exit', drop);
    return t;
  }
}
