import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DigestPool, defaultHashWorkers, MAX_DEFAULT_HASH_WORKERS } from '../src/data/digest-worker.js';
import { isCascadeError } from '../src/errors.js';
import { sliceDigest, type DigestAlgorithm } from '../src/manifest/digest.js';
import { MD5_LANES } from '../src/manifest/md5-lanes.js';
import { noise } from './fixtures.js';

/** Rejections nobody handled while these tests ran (there must be none). */
const unhandled: unknown[] = [];
const onUnhandled = (err: unknown): void => void unhandled.push(err);
before(() => process.on('unhandledRejection', onUnhandled));
after(() => {
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, []);
});

/** A slice as a socket delivers it: chunks of uneven sizes, some views into a bigger buffer. */
function chunked(length: number, seed: number): Buffer[] {
  const whole = noise(length + 100, seed).subarray(50, 50 + length);
  const out: Buffer[] = [];
  for (let at = 0, n = 1; at < length; n++) {
    const size = Math.min(length - at, 1000 * n + (seed % 7));
    out.push(whole.subarray(at, at + size));
    at += size;
  }
  return out;
}

/** Reach a pool's threads (private) to kill one or watch them exit. */
const threadsOf = (p: DigestPool): Array<{ worker: { terminate(): Promise<number>; threadId: number } }> =>
  (p as unknown as { threads: Array<{ worker: { terminate(): Promise<number>; threadId: number } }> | null }).threads ??
  [];

describe('DigestPool', () => {
  test('its default size is one thread per core, at most 4', () => {
    const n = defaultHashWorkers();
    assert.ok(n >= 1 && n <= MAX_DEFAULT_HASH_WORKERS, `default ${n}`);
    assert.equal(new DigestPool().size, n);
  });

  test('digests of many concurrent jobs (MD5 and sha256, any sizes) equal the inline ones', async () => {
    const pool = new DigestPool(2);
    try {
      const algorithms: DigestAlgorithm[] = ['sha256', 'md5', 'md5'];
      const jobs = Array.from({ length: 24 }, (_, i) => ({
        algorithm: algorithms[i % 3]!,
        // growing, shrinking and empty slices: slots are reused and grown
        chunks: i === 5 ? [] : chunked(((i * 37_123) % 300_000) + 1, i + 1),
      }));
      const got = await Promise.all(jobs.map((j) => pool.digest(j.algorithm, j.chunks)));
      assert.deepEqual(
        got,
        jobs.map((j) => sliceDigest(j.algorithm, j.chunks)),
      );
      assert.equal(threadsOf(pool).length, 2, 'both threads were started');
      assert.equal(pool.pending, 0);
    } finally {
      await pool.close();
    }
  });

  test('a slice in shared memory is hashed where it lies: views at any offset, while other jobs are copied', async () => {
    const pool = new DigestPool(2);
    try {
      const shared = Buffer.from(new SharedArrayBuffer(400_000));
      noise(shared.length, 11).copy(shared);
      const views = [shared, shared.subarray(1, 300_001), shared.subarray(123_457, 123_458), shared.subarray(7, 7)];
      const jobs = views.flatMap((v, i): Array<{ algorithm: DigestAlgorithm; chunks: Buffer[] }> => [
        { algorithm: i % 2 ? 'md5' : 'sha256', chunks: [v] },
        { algorithm: 'md5', chunks: chunked(1000 + i * 5000, i + 3) },
      ]);
      const got = await Promise.all(jobs.map((j) => pool.digest(j.algorithm, j.chunks)));
      assert.deepEqual(
        got,
        jobs.map((j) =>
          sliceDigest(
            j.algorithm,
            j.chunks.map((c) => Buffer.from(c)),
          ),
        ),
      );
      assert.ok(shared.subarray(0, 8).equals(noise(shared.length, 11).subarray(0, 8)), 'the shared bytes untouched');
    } finally {
      await pool.close();
    }
  });

  test('MD5 slices of one length in shared memory go through the SIMD lanes; every digest equals OpenSSL', async () => {
    const pool = new DigestPool(2);
    try {
      const slices = Array.from({ length: 11 }, (_, i) => {
        const b = Buffer.from(new SharedArrayBuffer(300_000));
        noise(b.length, 40 + i).copy(b);
        return i === 10 ? b.subarray(0, 299_999) : b; // one of another length: never in a batch with the rest
      });
      const got = await Promise.all(slices.map((b) => pool.digest('md5', [b])));
      assert.deepEqual(
        got,
        slices.map((b) => sliceDigest('md5', b)),
      );
      assert.ok(pool.laned >= MD5_LANES, `a whole batch went through the lanes (${pool.laned} slices)`);
      assert.equal(pool.pending, 0);
    } finally {
      await pool.close();
    }
  });

  test('a part batch is not held back: slices arriving one at a time are each answered', async () => {
    const pool = new DigestPool(2);
    try {
      for (let i = 0; i < 6; i++) {
        const b = Buffer.from(new SharedArrayBuffer(70_000));
        noise(b.length, 60 + i).copy(b);
        assert.equal(await pool.digest('md5', [b]), sliceDigest('md5', b));
      }
      assert.equal(pool.laned, 0, 'nothing waited to fill a batch');
    } finally {
      await pool.close();
    }
  });

  test('slices worth handing over at once: a batch of lanes per thread for MD5, one for sha256', () => {
    const pool = new DigestPool(3);
    assert.equal(pool.slicesAtOnce('md5'), 3 * MD5_LANES);
    assert.equal(pool.slicesAtOnce('sha256'), 3);
  });

  test('size 0 hashes inline, starting no thread', async () => {
    const pool = new DigestPool(0);
    const chunks = chunked(50_000, 3);
    assert.equal(await pool.digest('md5', chunks), sliceDigest('md5', chunks));
    assert.equal(threadsOf(pool).length, 0);
    await pool.close();
  });

  test('a bad size is refused with ERR_BAD_CONFIG', () => {
    assert.throws(
      () => new DigestPool(-1),
      (e) => isCascadeError(e, 'ERR_BAD_CONFIG'),
    );
    assert.throws(
      () => new DigestPool(1.5),
      (e) => isCascadeError(e, 'ERR_BAD_CONFIG'),
    );
  });

  test('an algorithm the threads cannot hash rejects that job with ERR_INTERNAL; the pool goes on', async () => {
    const pool = new DigestPool(2);
    const inline = new DigestPool(0);
    try {
      const chunks = chunked(10_000, 4);
      const bad = 'no-such-hash' as DigestAlgorithm;
      await assert.rejects(pool.digest(bad, chunks), (e) => isCascadeError(e, 'ERR_INTERNAL'));
      await assert.rejects(inline.digest(bad, chunks), (e) => isCascadeError(e, 'ERR_INTERNAL'));
      assert.equal(await pool.digest('md5', chunks), sliceDigest('md5', chunks));
    } finally {
      await pool.close();
      await inline.close();
    }
  });

  test('a thread that dies with jobs in hand: its jobs and later ones are still answered correctly', async () => {
    const pool = new DigestPool(2);
    try {
      const first = chunked(1000, 5);
      await pool.digest('md5', first); // threads started
      const jobs = Array.from({ length: 8 }, (_, i) => chunked(400_000, 10 + i));
      const answers = jobs.map((c) => pool.digest('md5', c));
      await threadsOf(pool)[0]!.worker.terminate();
      assert.deepEqual(
        await Promise.all(answers),
        jobs.map((c) => sliceDigest('md5', c)),
      );
      assert.equal(threadsOf(pool).length, 1, 'the dead thread is dropped');
      assert.equal(await pool.digest('sha256', first), sliceDigest('sha256', first));
    } finally {
      await pool.close();
    }
  });

  test('close() answers pending jobs, stops every thread, and later jobs are hashed inline', async () => {
    const pool = new DigestPool(2);
    const chunks = chunked(2_000_000, 6);
    await pool.digest('md5', chunks);
    const threads = threadsOf(pool).slice();
    assert.equal(threads.length, 2);
    const exited = threads.map(
      (t) => new Promise<void>((resolve) => (t.worker as unknown as NodeJS.EventEmitter).once('exit', () => resolve())),
    );
    const pending = [pool.digest('md5', chunks), pool.digest('sha256', chunks), pool.digest('md5', chunks)];
    await pool.close();
    await Promise.all(exited);
    assert.deepEqual(await Promise.all(pending), [
      sliceDigest('md5', chunks),
      sliceDigest('sha256', chunks),
      sliceDigest('md5', chunks),
    ]);
    assert.equal(pool.pending, 0);
    assert.equal(threadsOf(pool).length, 0);
    assert.equal(await pool.digest('md5', chunks), sliceDigest('md5', chunks));
  });
});
