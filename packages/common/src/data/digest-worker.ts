import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CascadeError } from '../errors.js';
import { sliceDigest, type DigestAlgorithm } from '../manifest/digest.js';
import type { WasmModule } from '../webassembly.js';
import { MD5_LANES, md5LanesHasher, md5LanesModule, md5LanesWasm } from '../manifest/md5-lanes.js';
import { decompressAndDigest, ZSTD_THREAD_SOURCE, zstdThreadData } from '../compress/zstd-thread.js';

// The worker's whole program, evaluated from a string so the one-file bundle needs no extra file.
// It hashes bytes where they lie in shared memory, or bytes the main thread copied into a slot
// transferred to it (transferred back with the answer); a batch of equal MD5 slices in shared
// memory goes through the SIMD lanes (md5-lanes.ts), OpenSSL when they cannot run here.
// (`__name`: a loader running the TypeScript may name functions through such a helper.)
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
var __name = (f) => f;
let lanes = null;
try {
  if (workerData && workerData.md5Lanes) lanes = (${md5LanesHasher.toString()})(new WebAssembly.Module(workerData.md5Lanes));
} catch {
  lanes = null;
}
function hash(algorithm, bytes) {
  try {
    const h = createHash(algorithm);
    h.update(bytes);
    return { hex: h.digest('hex') };
  } catch (err) {
    return { error: String((err && err.message) || err) };
  }
}
function hashLanes(jobs) {
  const views = jobs.map((j) => new Uint8Array(j.shared, j.offset, j.length));
  let hexes = null;
  try {
    if (lanes) hexes = lanes(views);
  } catch {
    hexes = null;
  }
  jobs.forEach((j, i) => parentPort.postMessage({ id: j.id, ...(hexes ? { hex: hexes[i] } : hash('md5', views[i])) }));
}
let zstdHere = null;
function unzstd(m, wire) {
  try {
    zstdHere ??= (function () {
      ${ZSTD_THREAD_SOURCE}
      return zstd;
    })();
  } catch (err) {
    return { error: String((err && err.message) || err) };
  }
  try {
    const into = new Uint8Array(m.into, m.intoOffset, m.imageLength);
    const n = zstdHere.decompressInto(wire, into);
    if (n !== m.imageLength) return { bad: 'a compressed slice holds ' + n + ' bytes, the manifest says ' + m.imageLength };
    return hash(m.algorithm, into);
  } catch (err) {
    return { bad: String((err && err.message) || err) };
  }
}
parentPort.on('message', (m) => {
  if (m.lanes) return hashLanes(m.lanes);
  const bytes = m.shared ? new Uint8Array(m.shared, m.offset, m.length) : new Uint8Array(m.slot, 0, m.length);
  const answer = m.into ? unzstd(m, bytes) : hash(m.algorithm, bytes);
  parentPort.postMessage({ id: m.id, slot: m.slot, ...answer }, m.slot ? [m.slot] : []);
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
  /** Decompress the chunks (one zstd frame) into `into` (shared memory), then hash those bytes. */
  unzstd?: { into: Buffer; imageLength: number } | undefined;
  resolve: (hex: string) => void;
  reject: (err: Error) => void;
}

interface Reply {
  id: number;
  hex?: string;
  error?: string;
  /** The compressed slice did not decompress to its image length (the sender's fault). */
  bad?: string;
  slot?: ArrayBuffer;
}

const noop = (): void => undefined;

/** The zstd module for the threads (none when it cannot be compiled here: they then answer inline). */
function zstdData(): { zstdWasm?: unknown } {
  try {
    return zstdThreadData();
  } catch {
    return {};
  }
}

/** Jobs one thread holds at once: one hashed while the next is copied in (two slots). */
const JOBS_PER_WORKER = 2;
/** Fewest slices worth the SIMD lanes (three lanes of four already beat OpenSSL one by one). */
const MIN_LANES = 3;

/** One slice in one piece of shared memory (a shared BufferPool's): hashed where it lies. */
function sharedChunk(job: Job): Buffer | undefined {
  const only = job.chunks.length === 1 ? job.chunks[0] : undefined;
  return only && only.buffer instanceof SharedArrayBuffer ? only : undefined;
}

/** One thread and its slots (grown to the largest slice seen), each with the thread or here. */
class HashThread {
  readonly jobs = new Map<number, Job>();
  private readonly free: ArrayBuffer[] = [];
  /** It holds a batch of MD5 lanes (nothing else is sent to it until all of it is answered). */
  lanes = false;
  constructor(readonly worker: Worker) {}

  get busy(): boolean {
    return this.lanes || this.jobs.size >= JOBS_PER_WORKER;
  }

  /**
   * A slice in one piece of shared memory (a shared BufferPool's) is hashed where it lies;
   * anything else is copied into a free slot (the one copy on the way) transferred with the job.
   */
  post(job: Job): void {
    const shared = sharedChunk(job);
    this.jobs.set(job.id, job);
    const z = job.unzstd;
    const out = z ? { into: z.into.buffer, intoOffset: z.into.byteOffset, imageLength: z.imageLength } : {};
    if (shared) {
      const { buffer, byteOffset: offset, length } = shared;
      this.worker.postMessage({ id: job.id, algorithm: job.algorithm, shared: buffer, offset, length, ...out });
      return;
    }
    let slot = this.free.pop();
    if (!slot || slot.byteLength < job.length) slot = new ArrayBuffer(job.length);
    const view = Buffer.from(slot, 0, job.length);
    let at = 0;
    for (const c of job.chunks) at += c.copy(view, at);
    this.worker.postMessage({ id: job.id, algorithm: job.algorithm, slot, length: job.length, ...out }, [slot]);
  }

  /** Equal MD5 slices in shared memory, hashed together in the thread's SIMD lanes. */
  postLanes(jobs: Job[]): void {
    this.lanes = true;
    const lanes = jobs.map((job) => {
      this.jobs.set(job.id, job);
      const { buffer: shared, byteOffset: offset, length } = sharedChunk(job) as Buffer;
      return { id: job.id, shared, offset, length };
    });
    this.worker.postMessage({ lanes });
  }

  /** The job `id` is answered; the slot it came back with is free again. */
  finish(id: number, slot: ArrayBuffer | undefined): Job | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    this.jobs.delete(id);
    if (this.jobs.size === 0) this.lanes = false;
    if (slot && this.free.length < JOBS_PER_WORKER) this.free.push(slot);
    return job;
  }
}

/** A job done inline: hashed, or decompressed then hashed (a corrupt slice rejects ERR_SLICE_DECOMPRESS). */
function inlineJob(job: Job): Promise<string> {
  const z = job.unzstd;
  if (!z) return inlineDigest(job.algorithm, job.chunks);
  try {
    const wire = job.chunks.length === 1 ? (job.chunks[0] as Buffer) : Buffer.concat(job.chunks);
    return Promise.resolve(decompressAndDigest(job.algorithm, wire, z.imageLength, z.into).hex);
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
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
 * MD5 slices of one length in shared memory are hashed MD5_LANES at a time in a thread's SIMD
 * lanes (md5-lanes.ts: ~40 % less CPU per byte): while one thread hashes a batch, a part batch
 * waits for more slices (or for that batch's end), so a stream that keeps the threads busy fills
 * whole batches and one that does not is never held up. `slicesAtOnce` tells a caller how many
 * slices to hand over at once for that.
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
  /** Slices sent to the SIMD lanes (tests, benchmarks). */
  laned = 0;

  constructor(size = defaultHashWorkers()) {
    if (!Number.isSafeInteger(size) || size < 0)
      throw new CascadeError('ERR_BAD_CONFIG', `hash workers: expected a whole number ≥ 0, got ${size}`);
    this.size = size;
  }

  /**
   * The lanes' module, compiled on first use (a pool that never hashes costs nothing); null: this
   * runtime cannot run it, and MD5 goes to OpenSSL one slice at a time.
   */
  private get md5Lanes(): WasmModule | null {
    return md5LanesModule();
  }

  /** Jobs sent to a thread or waiting for one. */
  get pending(): number {
    return this.waiting.length + (this.threads ?? []).reduce((n, t) => n + t.jobs.size, 0);
  }

  /** Slices worth having in the pool at once for `algorithm` (each thread's batch). */
  slicesAtOnce(algorithm: DigestAlgorithm): number {
    return this.size * (algorithm === 'md5' && this.md5Lanes ? MD5_LANES : 1);
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

  /**
   * Decompress a compressed slice (`wire`: one zstd frame, as received) into `into` (its first
   * `imageLength` bytes: in shared memory, the threads write it there; else it is done inline),
   * and digest those bytes. Rejects ERR_SLICE_DECOMPRESS when the frame is corrupt or holds
   * another length: a bad slice, the sender's fault.
   */
  digestCompressed(
    algorithm: DigestAlgorithm,
    wire: readonly Buffer[],
    imageLength: number,
    into: Buffer,
  ): Promise<string> {
    const length = wire.reduce((n, c) => n + c.length, 0);
    const job = { id: this.nextId++, algorithm, chunks: wire, length, unzstd: { into, imageLength } };
    const threads = this.closed || !(into.buffer instanceof SharedArrayBuffer) ? [] : this.ensure();
    if (threads.length === 0 || into.length < imageLength) return inlineJob({ ...job, resolve: noop, reject: noop });
    return new Promise<string>((resolve, reject) => {
      this.waiting.push({ ...job, resolve, reject });
      this.dispatch();
    });
  }

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
    const workerData = { ...(this.md5Lanes ? { md5Lanes: md5LanesWasm() } : {}), ...zstdData() };
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData });
    w.unref();
    const t = new HashThread(w);
    w.on('message', (m: Reply) => this.answer(t, m));
    w.on('error', () => this.drop(t));
    w.on('exit', () => this.drop(t));
    return t;
  }

  /** Hand waiting jobs to threads with room, least loaded first (batches of MD5 lanes whole). */
  private dispatch(): void {
    const threads = this.threads ?? [];
    while (this.waiting.length > 0) {
      let best: HashThread | null = null;
      for (const t of threads) if (!t.busy && (!best || t.jobs.size < best.jobs.size)) best = t;
      if (!best) return;
      const batch = this.md5Lanes ? this.takeLanes(threads) : null;
      if (batch === 'wait') return;
      if (batch) {
        best.postLanes(batch);
        this.laned += batch.length;
      } else best.post(this.waiting.shift() as Job);
    }
  }

  /**
   * A batch for the lanes from the waiting jobs like the first one (MD5, shared memory, same
   * length): a whole one; else, while a thread hashes a batch, 'wait' (its end dispatches again);
   * else what there is if it is worth the lanes; else null (the first job goes alone).
   */
  private takeLanes(threads: HashThread[]): Job[] | 'wait' | null {
    const first = this.waiting[0] as Job;
    if (first.algorithm !== 'md5' || first.unzstd || !sharedChunk(first)) return null;
    const picked: number[] = [];
    for (let i = 0; i < this.waiting.length && picked.length < MD5_LANES; i++) {
      const j = this.waiting[i] as Job;
      if (j.algorithm === 'md5' && !j.unzstd && j.length === first.length && sharedChunk(j)) picked.push(i);
    }
    if (picked.length < MD5_LANES) {
      if (threads.some((t) => t.lanes)) return 'wait';
      if (picked.length < MIN_LANES) return null;
    }
    return picked
      .reverse()
      .map((i) => this.waiting.splice(i, 1)[0] as Job)
      .reverse();
  }

  private answer(t: HashThread, m: Reply): void {
    const job = t.finish(m.id, m.slot);
    if (job) {
      if (m.hex !== undefined) job.resolve(m.hex);
      else if (m.bad !== undefined)
        job.reject(
          new CascadeError('ERR_SLICE_DECOMPRESS', `a compressed slice did not decompress: ${m.bad}`, {
            details: { wireBytes: job.length, imageLength: job.unzstd?.imageLength },
          }),
        );
      else inlineJob(job).then(job.resolve, job.reject);
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
    for (const job of t.jobs.values()) inlineJob(job).then(job.resolve, job.reject);
    t.jobs.clear();
  }

  private drainInline(): void {
    for (const job of this.waiting.splice(0)) inlineJob(job).then(job.resolve, job.reject);
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
