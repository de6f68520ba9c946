import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { runInThisContext } from 'node:vm';
import { MD5_LANES, md5LanesHasher, md5LanesModule, md5LanesWasm } from '../src/manifest/md5-lanes.js';
import { noise } from './fixtures.js';

const openssl = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

/** `count` slices of `length` bytes, each a view at an odd offset into shared memory. */
function sharedSlices(count: number, length: number, seed: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => {
    const whole = Buffer.from(new SharedArrayBuffer(length + 13));
    noise(length + 13, seed * 10 + i + 1).copy(whole);
    return whole.subarray(5 + i, 5 + i + length);
  });
}

describe('MD5 lanes (WebAssembly SIMD)', () => {
  const module = md5LanesModule();

  test('the generated module compiles on this Node (it has WebAssembly SIMD)', () => {
    assert.ok(WebAssembly.validate(md5LanesWasm()), 'a valid module');
    assert.notEqual(module, null);
  });

  test('digests equal OpenSSL for 1 to 4 lanes at every padding edge and across copy chunks', () => {
    const hash = md5LanesHasher(module!);
    // 55/56 and 119/120: the padding takes one block or two; 32768 (a copy chunk) and past it.
    const lengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 32_767, 32_768, 32_769, 100_003, 1 << 20];
    for (const length of lengths) {
      for (let lanes = 1; lanes <= MD5_LANES; lanes++) {
        const slices = sharedSlices(lanes, length, length + lanes);
        assert.deepEqual(hash(slices), slices.map(openssl), `${lanes} lanes of ${length} bytes`);
      }
    }
  });

  test('one hasher is reused: a call leaves nothing behind for the next', () => {
    const hash = md5LanesHasher(module!);
    const big = sharedSlices(4, 70_001, 1);
    const small = sharedSlices(2, 3, 2);
    assert.deepEqual(hash(big), big.map(openssl));
    assert.deepEqual(hash(small), small.map(openssl));
    assert.deepEqual(hash([big[3]!]), [openssl(big[3]!)]);
  });

  test('slices of different lengths, none, or more than the lanes are refused', () => {
    const hash = md5LanesHasher(module!);
    assert.throws(() => hash([Buffer.alloc(64), Buffer.alloc(65)]), RangeError);
    assert.throws(() => hash([]), RangeError);
    assert.throws(() => hash(Array.from({ length: MD5_LANES + 1 }, () => Buffer.alloc(64))), RangeError);
  });

  test('the hasher runs from its own source text, as the hashing threads run it', () => {
    const fromText = runInThisContext(`(${md5LanesHasher.toString()})`) as typeof md5LanesHasher;
    const slices = sharedSlices(3, 4097, 3);
    assert.deepEqual(fromText(module!)(slices), slices.map(openssl));
  });
});
