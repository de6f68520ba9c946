import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CascadeError, computeImageId, MIN_SLICE_SIZE, SliceBitmap, type Manifest } from '@cascade/common';
import { SliceStore } from '../../src/slices/slice-store.js';

const S = MIN_SLICE_SIZE;

/** A valid manifest of `count` slices (the last `lastLength` bytes long) with the given zero slices. */
function makeManifest(count: number, zero: Iterable<number> = [], lastLength = S): Manifest {
  const bm = new SliceBitmap(count);
  for (const i of zero) bm.set(i);
  const body = {
    version: 1 as const,
    size: count === 0 ? 0 : (count - 1) * S + lastLength,
    sliceSize: S,
    digest: 'md5' as const,
    digests: Array.from({ length: count }, (_, i) => i.toString(16).padStart(32, '0')),
    zero: bm.toBase64(),
  };
  return { ...body, imageId: computeImageId(body), name: 'test.img' };
}

/** Everything `next()` hands out until it runs dry. */
function drain(store: SliceStore): number[] {
  const out: number[] = [];
  for (let i = store.next(); i !== undefined; i = store.next()) out.push(i);
  return out;
}

describe('SliceStore queue', () => {
  test('a fresh store holds nothing and misses every slice', () => {
    const store = new SliceStore(makeManifest(6));
    assert.equal(store.count, 6);
    assert.equal(store.heldSlices, 0);
    assert.equal(store.heldBytes, 0);
    assert.equal(store.missing(), 6);
    assert.equal(store.complete, false);
    for (let i = 0; i < 6; i++) assert.equal(store.has(i), false);
  });

  test('next hands out nothing before the queue is built', () => {
    const store = new SliceStore(makeManifest(4));
    assert.equal(store.next(), undefined);
  });

  test('the queue hands out missing slices in index order, then undefined', () => {
    const store = new SliceStore(makeManifest(8));
    store.resetQueue();
    assert.deepEqual(drain(store), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(store.next(), undefined);
  });

  test('zero slices are never queued', () => {
    const store = new SliceStore(makeManifest(8, [0, 3, 7]));
    store.resetQueue();
    assert.deepEqual(drain(store), [1, 2, 4, 5, 6]);
  });

  test('held slices are left out when the queue is built', () => {
    const store = new SliceStore(makeManifest(6));
    store.markHeld(1);
    store.markHeld(4);
    store.resetQueue();
    assert.deepEqual(drain(store), [0, 2, 3, 5]);
  });

  test('a slice held after the queue was built is skipped by next', () => {
    const store = new SliceStore(makeManifest(5));
    store.resetQueue();
    store.markHeld(1);
    store.markHeld(2);
    assert.deepEqual(drain(store), [0, 3, 4]);
  });

  test('retry puts a slice first, ahead of those not yet handed out', () => {
    const store = new SliceStore(makeManifest(6));
    store.resetQueue();
    assert.equal(store.next(), 0);
    assert.equal(store.next(), 1);
    assert.equal(store.next(), 2);
    store.retry(1);
    assert.equal(store.next(), 1);
    assert.deepEqual(drain(store), [3, 4, 5]);
  });

  test('slices put back together come out in index order, whatever order they were put back in', () => {
    const store = new SliceStore(makeManifest(8));
    store.resetQueue();
    assert.deepEqual([store.next(), store.next(), store.next()], [0, 1, 2]);
    // A move aborts a fetch with 1 and 2 outstanding; a bad 0 comes back after them.
    store.retry(1);
    store.retry(2);
    store.retry(0);
    assert.deepEqual(drain(store), [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  test('a slice put back twice is handed out once', () => {
    const store = new SliceStore(makeManifest(4));
    store.resetQueue();
    assert.equal(store.next(), 0);
    store.retry(0);
    store.retry(0);
    assert.deepEqual(drain(store), [0, 1, 2, 3]);
  });

  test('retry of a slice already held is ignored', () => {
    const store = new SliceStore(makeManifest(3));
    store.resetQueue();
    assert.equal(store.next(), 0);
    store.markHeld(0);
    store.retry(0);
    assert.deepEqual(drain(store), [1, 2]);
  });

  test('resetQueue rebuilds the queue from what is still missing', () => {
    const store = new SliceStore(makeManifest(5, [2]));
    store.resetQueue();
    assert.equal(store.next(), 0);
    assert.equal(store.next(), 1);
    store.markHeld(0);
    store.resetQueue();
    assert.deepEqual(drain(store), [1, 3, 4]);
  });

  test('property: the queue yields exactly the missing non-zero slices, ascending', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 0, max: 80 })
          .chain((count) =>
            fc.tuple(
              fc.constant(count),
              fc.uniqueArray(fc.nat({ max: Math.max(0, count - 1) }), { maxLength: count }),
              fc.uniqueArray(fc.nat({ max: Math.max(0, count - 1) }), { maxLength: count }),
            ),
          ),
        ([count, zero, held]) => {
          const store = new SliceStore(makeManifest(count, zero));
          for (const i of held) store.markHeld(i);
          store.resetQueue();
          const z = new Set(zero);
          const h = new Set(held);
          const want = Array.from({ length: count }, (_, i) => i).filter((i) => !z.has(i) && !h.has(i));
          assert.deepEqual(drain(store), want);
        },
      ),
    );
  });
});

describe('SliceStore holdings', () => {
  test('markHeld counts slices and bytes, with the short last slice at its real length', () => {
    const store = new SliceStore(makeManifest(3, [], 1000));
    store.markHeld(0);
    assert.equal(store.heldSlices, 1);
    assert.equal(store.heldBytes, S);
    store.markHeld(2);
    assert.equal(store.heldBytes, S + 1000);
    assert.equal(store.missing(), 1);
    assert.equal(store.has(2), true);
    assert.equal(store.has(1), false);
  });

  test('marking a slice twice counts it once', () => {
    const store = new SliceStore(makeManifest(3));
    store.markHeld(1);
    store.markHeld(1);
    assert.equal(store.heldSlices, 1);
    assert.equal(store.heldBytes, S);
  });

  test('the store is complete once every slice, zero slices included, is held', () => {
    const store = new SliceStore(makeManifest(3, [1]));
    store.markHeld(0);
    store.markHeld(2);
    assert.equal(store.complete, false, 'a zero slice still has to be marked (written) to count');
    store.markHeld(1);
    assert.equal(store.complete, true);
    assert.equal(store.missing(), 0);
  });

  test('the zero map is taken from the manifest', () => {
    const store = new SliceStore(makeManifest(10, [0, 9]));
    assert.equal(store.zero.get(0), true);
    assert.equal(store.zero.get(9), true);
    assert.equal(store.zero.get(5), false);
  });
});

describe('SliceStore.waitFor', () => {
  test('waitFor resolves when the slice is marked held', async () => {
    const store = new SliceStore(makeManifest(4));
    let resolved = false;
    const p = store.waitFor(2, 5000).then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(resolved, false, 'resolved before the slice was held');
    store.markHeld(2);
    await p;
    assert.equal(resolved, true);
  });

  test('waitFor resolves at once for a slice already held', async () => {
    const store = new SliceStore(makeManifest(4));
    store.markHeld(3);
    await store.waitFor(3, 1);
  });

  test('every waiter of a slice is woken, and only by that slice', async () => {
    const store = new SliceStore(makeManifest(4));
    const woken: string[] = [];
    const a = store.waitFor(1, 5000).then(() => woken.push('a'));
    const b = store.waitFor(1, 5000).then(() => woken.push('b'));
    const c = store.waitFor(2, 200).then(
      () => woken.push('c'),
      () => woken.push('c-timeout'),
    );
    store.markHeld(1);
    await Promise.all([a, b]);
    assert.deepEqual(woken.sort(), ['a', 'b']);
    await c;
    assert.deepEqual(woken.sort(), ['a', 'b', 'c-timeout']);
  });

  test('waitFor rejects after its timeout with ERR_SLICE_UNAVAILABLE', async () => {
    const store = new SliceStore(makeManifest(4));
    const started = performance.now();
    await assert.rejects(store.waitFor(0, 100), (err: unknown) => {
      assert.ok(err instanceof CascadeError, `expected a CascadeError, got ${String(err)}`);
      assert.equal(err.code, 'ERR_SLICE_UNAVAILABLE');
      return true;
    });
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 95, `rejected after only ${elapsed.toFixed(0)} ms`);
    assert.ok(elapsed < 1000, `rejected after ${elapsed.toFixed(0)} ms`);
  });

  test('a waiter that timed out does not stop a later waiter of the same slice from resolving', async () => {
    const store = new SliceStore(makeManifest(4));
    const short = store.waitFor(1, 20);
    const long = store.waitFor(1, 5000);
    await assert.rejects(short, (err: unknown) => err instanceof CascadeError && err.code === 'ERR_SLICE_UNAVAILABLE');
    store.markHeld(1);
    await long;
    assert.equal(store.has(1), true);
  });
});
