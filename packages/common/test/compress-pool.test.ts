import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { CompressPool, compressSlice, decompressSlice } from '../src/index.js';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

/** Slice `i` of a compressible image: text-like runs, different in every slice. */
function slice(i: number, length = 1 << 20): Buffer {
  const b = Buffer.alloc(length);
  for (let at = 0; at < length;) at += b.write(`slice ${i} line ${at % 977} of the lab image\n`, at);
  return b;
}

describe('CompressPool', () => {
  test('compresses on its threads, many at once: every slice round-trips to its bytes', async () => {
    const pool = new CompressPool(2);
    try {
      const slices = Array.from({ length: 8 }, (_, i) => slice(i));
      const wires = await Promise.all(slices.map((s) => pool.compress(s, 3)));
      wires.forEach((w, i) => {
        assert.ok(w && w.length < slices[i]!.length / 4, `slice ${i}: ${w?.length} bytes`);
        assert.equal(md5(decompressSlice(w, slices[i]!.length)), md5(slices[i]!));
      });
      assert.deepEqual(wires[0], compressSlice(slices[0]!, 3), 'the same frame as on the main thread');
    } finally {
      await pool.close();
    }
  });

  test('a slice that does not shrink is null (sent raw), an empty one too; the caller keeps its buffer', async () => {
    const pool = new CompressPool(1);
    try {
      const random = createHash('sha512').update('x').digest();
      const noise = Buffer.concat(
        Array.from({ length: 1024 }, (_, i) => createHash('sha512').update(random).update(String(i)).digest()),
      );
      assert.equal(await pool.compress(noise, 3), null);
      assert.equal(await pool.compress(new Uint8Array(0), 3), null);
      const s = slice(1);
      await pool.compress(s, 1);
      assert.equal(s.length, 1 << 20, 'not transferred away');
    } finally {
      await pool.close();
    }
  });

  test('a level zstd does not have is ERR_BAD_CONFIG; size 0 and a closed pool compress inline', async () => {
    const pool = new CompressPool(0);
    await assert.rejects(pool.compress(slice(0), 0), { code: 'ERR_BAD_CONFIG' });
    const w = await pool.compress(slice(2), 3);
    assert.equal(md5(decompressSlice(w!, 1 << 20)), md5(slice(2)));
    const threaded = new CompressPool(1);
    await threaded.close();
    assert.ok(await threaded.compress(slice(3), 3));
    assert.throws(() => new CompressPool(-1), { code: 'ERR_BAD_CONFIG' });
  });
});
