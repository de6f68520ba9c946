import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DigestPool } from '../src/data/digest-worker.js';
import { FileSliceSource } from '../src/data/slice-source.js';
import { buildManifest } from '../src/manifest/build-manifest.js';
import { MIN_SLICE_SIZE } from '../src/manifest/manifest.js';
import { makeImage } from './fixtures.js';

const S = MIN_SLICE_SIZE;

test('a file source reads into buffers given back to it, never into foreign ones', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cascade-source-reuse-'));
  const path = join(dir, 'img');
  const image = makeImage([S, S, S, 1000], new Set([2]));
  await writeFile(path, image);
  const manifest = await buildManifest(path, { sliceSize: S });
  const fh = await open(path, 'r');
  try {
    const source = new FileSliceSource(manifest, fh);
    const first = await source.readSlice(0);
    assert.ok(first.equals(image.subarray(0, S)));
    source.recycle(first);
    const second = await source.readSlice(1);
    assert.equal(second.buffer, first.buffer, 'the buffer given back is read into again');
    assert.ok(second.equals(image.subarray(S, 2 * S)));
    const foreign = Buffer.alloc(S);
    source.recycle(foreign);
    source.recycle(second);
    source.recycle(second); // given back twice: kept once
    const a = await source.readSlice(0);
    const b = await source.readSlice(1);
    assert.notEqual(a.buffer, foreign.buffer);
    assert.notEqual(b.buffer, foreign.buffer);
    assert.notEqual(a.buffer, b.buffer, 'one buffer is never handed out twice');
    assert.ok(a.equals(image.subarray(0, S)) && b.equals(image.subarray(S, 2 * S)));
    source.recycle(a);
    const tail = await source.readSlice(3);
    assert.equal(tail.length, 1000);
    assert.ok(tail.equals(image.subarray(3 * S)));
  } finally {
    await fh.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a manifest built on a pool of hashing threads equals the one built inline', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cascade-manifest-pool-'));
  const path = join(dir, 'img');
  await writeFile(path, makeImage([S, S, S, S, S, 777], new Set([1, 4])));
  const pool = new DigestPool(2);
  try {
    for (const digest of ['md5', 'sha256'] as const) {
      const progress: number[] = [];
      const pooled = await buildManifest(path, {
        sliceSize: S,
        digest,
        hash: pool.digest,
        hashers: pool.size,
        onProgress: (done) => progress.push(done),
      });
      assert.deepEqual(pooled, await buildManifest(path, { sliceSize: S, digest }));
      assert.deepEqual(progress, [1, 2, 3, 4, 5, 6]);
    }
  } finally {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  }
});
