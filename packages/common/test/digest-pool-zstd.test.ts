import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compressSlice, DigestPool, isCascadeError, sliceDigest } from '../src/index.js';

const payload = Buffer.from('a slice of a lab image, used bytes only; '.repeat(5000));
const wire = Buffer.from(compressSlice(payload, 3) as Uint8Array);

function sharedBuffer(n: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(n));
}

describe('DigestPool.digestCompressed', () => {
  for (const size of [0, 2]) {
    test(`decompresses into the buffer given and digests the payload (${size} threads)`, async () => {
      const pool = new DigestPool(size);
      try {
        const into = sharedBuffer(payload.length + 100);
        const hex = await pool.digestCompressed('md5', [wire], payload.length, into);
        assert.equal(hex, sliceDigest('md5', payload));
        assert.ok(into.subarray(0, payload.length).equals(payload));
        const sha = await pool.digestCompressed(
          'sha256',
          [wire.subarray(0, 10), wire.subarray(10)],
          payload.length,
          into,
        );
        assert.equal(sha, sliceDigest('sha256', payload));
      } finally {
        await pool.close();
      }
    });

    test(`a wrong-length or broken frame rejects ERR_SLICE_DECOMPRESS (${size} threads)`, async () => {
      const pool = new DigestPool(size);
      try {
        const bad = Buffer.from(wire);
        bad[bad.length >> 1] = (bad[bad.length >> 1] ?? 0) ^ 0xff;
        const into = sharedBuffer(payload.length + 1);
        // A flipped byte either breaks the frame or changes the bytes (zstd frames carry no checksum
        // here): never the payload's digest.
        const flipped = await pool.digestCompressed('md5', [bad], payload.length, into).catch((e: unknown) => e);
        assert.ok(isCascadeError(flipped, 'ERR_SLICE_DECOMPRESS') || flipped !== sliceDigest('md5', payload));
        for (const [w, n] of [
          [wire, payload.length - 1],
          [wire, payload.length + 1],
          [Buffer.from('not zstd'), payload.length],
        ] as const) {
          await assert.rejects(pool.digestCompressed('md5', [w], n, into), (e) =>
            isCascadeError(e, 'ERR_SLICE_DECOMPRESS'),
          );
        }
        // The pool goes on working after a bad slice.
        assert.equal(await pool.digestCompressed('md5', [wire], payload.length, into), sliceDigest('md5', payload));
      } finally {
        await pool.close();
      }
    });
  }
});
