import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WireCache } from '../../src/slices/wire-cache.js';

describe('WireCache', () => {
  test('keeps copies of the latest slices within its bytes, oldest out first', () => {
    const c = new WireCache(100);
    const chunk = Buffer.alloc(40, 1);
    c.put(1, [chunk.subarray(0, 10), chunk.subarray(10)]);
    chunk.fill(9); // pooled bytes reused: the cache holds its own copy
    assert.deepEqual(c.get(1), Buffer.alloc(40, 1));
    c.put(2, [Buffer.alloc(40, 2)]);
    c.put(3, [Buffer.alloc(40, 3)]); // 120 > 100: slice 1 goes
    assert.equal(c.get(1), null);
    assert.deepEqual(c.get(3), Buffer.alloc(40, 3));
    assert.equal(c.size, 80);
    c.put(2, [Buffer.alloc(30, 4)]); // replaced, not counted twice
    assert.equal(c.size, 70);
    c.put(4, [Buffer.alloc(101)]); // larger than the whole cache: not kept
    assert.equal(c.get(4), null);
    assert.equal(c.size, 70);
  });
});
