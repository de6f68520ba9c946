import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildManifest, compressSlice, decompressSlice, slicePayloadLength, type Manifest } from '@cascade/common';
import { WireCache, type WireCacheOptions } from '../src/wire-cache.js';

const S = 256 * 1024;

describe('the seeder compressed-slice cache', () => {
  let dir: string;
  let imagePath: string;
  let image: Buffer;
  let manifest: Manifest;
  let compressions = 0;
  const opts = (): WireCacheOptions => ({
    level: 3,
    parallel: 2,
    compress: (payload, level) => {
      compressions++;
      return Promise.resolve(compressSlice(payload, level));
    },
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cascade-wire-cache-'));
    // Slice 0 text (compresses), 1 random (does not), 2 zeros (never sent), 3 short text tail.
    const text = Buffer.from('the quick brown fox jumps over the lazy lab machine\n'.repeat(6000)).subarray(0, S);
    image = Buffer.concat([text, randomBytes(S), Buffer.alloc(S), text.subarray(0, 1000)]);
    imagePath = join(dir, 'img');
    await writeFile(imagePath, image);
    manifest = await buildManifest(imagePath, { sliceSize: S });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a slice is compressed when first asked for, raw when it does not shrink, and kept for the next run', async () => {
    const cache = await WireCache.open(join(dir, 'cache'), imagePath, manifest, opts());
    const z0 = await cache.read(0);
    assert.ok(z0 && z0.length < S / 10, 'text compresses');
    assert.deepEqual(Buffer.from(decompressSlice(z0, slicePayloadLength(manifest, 0))), image.subarray(0, S));
    assert.equal(await cache.read(1), null, 'random bytes go raw');
    const z3 = await cache.read(3);
    assert.ok(z3);
    assert.deepEqual(Buffer.from(decompressSlice(z3, 1000)), image.subarray(3 * S));
    assert.ok(cache.wireBytes() < S + 2 * 1000 + S / 10);
    await cache.close();
    const before = compressions;
    const again = await WireCache.open(join(dir, 'cache'), imagePath, manifest, opts());
    assert.deepEqual(await again.read(0), z0);
    assert.equal(await again.read(1), null);
    assert.equal(compressions, before, 'nothing compressed twice');
    await again.close();
  });

  test('fill compresses every slice once, with progress; another level is another cache', async () => {
    const cache = await WireCache.open(join(dir, 'fill'), imagePath, manifest, opts());
    const seen: number[] = [];
    await cache.fill((done) => seen.push(done));
    assert.deepEqual(seen, [1, 2, 3], 'the zero slice is never compressed');
    assert.ok(cache.index.len.every((l, i) => i === 2 || l >= 0));
    await cache.close();
    const other = await WireCache.open(join(dir, 'fill'), imagePath, manifest, { ...opts(), level: 1 });
    assert.ok(
      other.index.len.every((l) => l === -1),
      'level 1 starts afresh',
    );
    await other.close();
  });

  test('a damaged index is ignored (rebuilt), never trusted', async () => {
    const cache = await WireCache.open(join(dir, 'bad'), imagePath, manifest, opts());
    await cache.fill();
    await cache.close();
    await writeFile(join(dir, `bad.${manifest.imageId}.zst.json`), '{"version":1,"len":[');
    const again = await WireCache.open(join(dir, 'bad'), imagePath, manifest, opts());
    assert.ok(again.index.len.every((l) => l === -1));
    const z0 = await again.read(0);
    assert.ok(z0);
    assert.deepEqual(Buffer.from(decompressSlice(z0, S)), image.subarray(0, S));
    await again.close();
  });
});
