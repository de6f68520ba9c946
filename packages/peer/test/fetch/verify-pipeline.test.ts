import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CascadeError, isCascadeError, sliceDigest, type Manifest } from '@cascade/common';
import { VerifyPipeline, type VerifyPipelineOptions } from '../../src/fetch/verify-pipeline.js';

const SLICES = 12;
const data = Array.from({ length: SLICES }, (_, i) => [Buffer.from(`slice ${i} `.repeat(50))]);
const manifest = {
  digest: 'md5',
  digests: data.map((c) => sliceDigest('md5', c)),
} as unknown as Manifest;

/** A digest whose answers the test releases by hand (in any order). */
function manualDigest(): {
  digest: NonNullable<VerifyPipelineOptions['digest']>;
  waiting: Array<{ chunks: readonly Buffer[]; answer: (hex?: string) => void; fail: (e: Error) => void }>;
} {
  const waiting: ReturnType<typeof manualDigest>['waiting'] = [];
  const digest: NonNullable<VerifyPipelineOptions['digest']> = (algorithm, chunks) =>
    new Promise((resolve, reject) =>
      waiting.push({ chunks, answer: (hex) => resolve(hex ?? sliceDigest(algorithm, chunks)), fail: reject }),
    );
  return { digest, waiting };
}

interface Log {
  written: number[];
  retried: number[];
  bad: number[];
  fatal: CascadeError[];
}

function pipeline(over: Partial<VerifyPipelineOptions> = {}): { p: VerifyPipeline; log: Log } {
  const log: Log = { written: [], retried: [], bad: [], fatal: [] };
  const p = new VerifyPipeline({
    manifest,
    onVerified: async (i) => void log.written.push(i),
    onBad: (i) => void log.bad.push(i),
    retry: (i) => void log.retried.push(i),
    onFatal: (e) => void log.fatal.push(e),
    ...over,
  });
  return { p, log };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('VerifyPipeline', () => {
  test('verifies up to `verifiers` slices at once, writes each as it passes (any order); the reader waits meanwhile', async () => {
    const d = manualDigest();
    const { p, log } = pipeline({ digest: d.digest, verifiers: 3, writes: 1 });
    let taken = 0;
    const feeder = (async () => {
      for (let i = 0; i < SLICES; i++) {
        await p.add(i, data[i]!, data[i]![0]!.length);
        taken++;
      }
    })();
    await settle();
    assert.equal(d.waiting.length, 3, 'three slices hashed at once');
    assert.equal(taken, 2, 'the reader waits while three are being verified');
    // Answer the newest first: it is written first.
    d.waiting[2]!.answer();
    await settle();
    assert.deepEqual(log.written, [2]);
    assert.equal(taken, 3, 'room for one more');
    const answered = new Set([2]);
    for (let round = 0; round < 100 && answered.size < SLICES; round++) {
      const i = d.waiting.findIndex((_, k) => !answered.has(k));
      assert.ok(i >= 0, 'a slice is waiting for its digest');
      assert.ok(d.waiting.length - answered.size <= 3, 'never more than three verified at once');
      answered.add(i);
      d.waiting[i]!.answer();
      await settle();
    }
    await feeder;
    await p.idle();
    assert.deepEqual(
      [...log.written].sort((a, b) => a - b),
      data.map((_, i) => i),
    );
    assert.equal(p.slices, SLICES);
    assert.equal(p.error, null);
  });

  test('a bad slice goes to onBad, is not written; onBad throwing ends the transfer once through onFatal', async () => {
    let bads = 0;
    const { p, log } = pipeline({
      verifiers: 2,
      onBad: (i) => {
        log.bad.push(i);
        if (++bads >= 2) throw new CascadeError('ERR_SERVER_BAD', 'two bad slices');
      },
      digest: async (a, c) => (c === data[1] || c === data[3] || c === data[5] ? 'bad' : sliceDigest(a, c)),
    });
    for (let i = 0; i < 6; i++) await p.add(i, data[i]!, 10);
    await p.idle();
    assert.deepEqual(log.bad, [1, 3, 5]);
    assert.ok(!log.written.includes(1) && !log.written.includes(3));
    assert.equal(log.fatal.length, 1);
    assert.ok(isCascadeError(p.error, 'ERR_SERVER_BAD'));
  });

  test('a failed write puts the slice back and ends the transfer with ERR_TARGET_UNUSABLE', async () => {
    const { p, log } = pipeline({
      onVerified: async (i) => {
        if (i === 1) throw new Error('disk gone');
        log.written.push(i);
      },
    });
    for (let i = 0; i < 3; i++) await p.add(i, data[i]!, 10);
    await p.idle();
    assert.ok(isCascadeError(p.error, 'ERR_TARGET_UNUSABLE'));
    assert.ok(log.retried.includes(1));
    assert.ok(!log.written.includes(1));
    assert.equal(log.fatal.length, 1);
  });

  test('a hashing error puts the slice back and ends the transfer with its code', async () => {
    const d = manualDigest();
    const { p, log } = pipeline({ digest: d.digest });
    const added = p.add(0, data[0]!, 10);
    d.waiting[0]!.fail(new CascadeError('ERR_INTERNAL', 'no hash'));
    await added;
    await p.idle();
    assert.ok(isCascadeError(p.error, 'ERR_INTERNAL'));
    assert.deepEqual(log.retried, [0]);
    assert.deepEqual(log.written, []);
  });

  test('after a stop, slices that pass are put back instead of written', async () => {
    const stop = new AbortController();
    const d = manualDigest();
    const { p, log } = pipeline({ digest: d.digest, verifiers: 2, signal: stop.signal });
    void p.add(0, data[0]!, 10);
    void p.add(1, data[1]!, 10);
    await settle();
    d.waiting[0]!.answer();
    await settle();
    stop.abort();
    d.waiting[1]!.answer();
    await p.idle();
    assert.deepEqual(log.written, [0]);
    assert.deepEqual(log.retried, [1]);
  });

  test('after a move, slices that pass are still written (not fetched again from the next server)', async () => {
    const move = new AbortController();
    const d = manualDigest();
    const { p, log } = pipeline({ digest: d.digest, verifiers: 2, signal: move.signal });
    void p.add(0, data[0]!, 10);
    void p.add(1, data[1]!, 10);
    await settle();
    move.abort(new CascadeError('ERR_MOVED', 'moved to peer-2'));
    d.waiting[0]!.answer();
    d.waiting[1]!.answer();
    await p.idle();
    assert.deepEqual(log.written, [0, 1]);
    assert.deepEqual(log.retried, []);
  });
});
