import { Worker } from 'node:worker_threads';
import { sliceDigest, type DigestAlgorithm } from '../manifest/digest.js';

// The worker's whole program, evaluated from a string so the one-file bundle needs no extra file.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', (m) => {
  try {
    const h = createHash(m.algorithm);
    for (const c of m.chunks) h.update(c);
    parentPort.postMessage({ id: m.id, hex: h.digest('hex') });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String(err && err.message || err) });
  }
});
`;

interface Reply {
  id: number;
  hex?: string;
  error?: string;
}

/**
 * Slice digests computed on a worker thread, so the event loop keeps reading the socket and
 * writing the target while a slice is hashed (MD5 runs at about 600 MB/s on one core). The
 * chunks are copied to the worker (a memcpy, far cheaper than the hash); the caller keeps its
 * own for writing. Falls back to hashing inline if the worker cannot start or dies.
 */
export class DigestWorker {
  private worker: Worker | null = null;
  private broken = false;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (hex: string) => void; algorithm: DigestAlgorithm; chunks: readonly Buffer[] }
  >();

  digest(algorithm: DigestAlgorithm, chunks: readonly Buffer[]): Promise<string> {
    const w = this.ensure();
    if (!w) return Promise.resolve(sliceDigest(algorithm, chunks));
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve, algorithm, chunks });
      w.postMessage({ id, algorithm, chunks });
    });
  }

  /** Stop the thread (pending digests are answered inline). */
  async close(): Promise<void> {
    const w = this.worker;
    this.fail();
    if (w) await w.terminate();
  }

  private ensure(): Worker | null {
    if (this.worker || this.broken) return this.worker;
    try {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.unref();
      w.on('message', (m: Reply) => this.answer(m));
      w.on('error', () => this.fail());
      w.on('exit', () => this.fail());
      this.worker = w;
    } catch {
      this.broken = true;
    }
    return this.worker;
  }

  private answer(m: Reply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    p.resolve(m.hex ?? sliceDigest(p.algorithm, p.chunks));
  }

  /** The thread is gone: answer what it held inline, and hash inline from now on. */
  private fail(): void {
    this.broken = true;
    this.worker = null;
    for (const p of this.pending.values()) p.resolve(sliceDigest(p.algorithm, p.chunks));
    this.pending.clear();
  }
}
