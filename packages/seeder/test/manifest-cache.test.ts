import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadOrBuildManifest, manifestCachePath } from '../src/manifest-cache.js';

const dir = await mkdtemp(join(tmpdir(), 'cascade-seeder-'));
after(() => rm(dir, { recursive: true, force: true }));

const SLICE = 64 * 1024;

describe('manifest cache', () => {
  test('builds once, then reuses the cached manifest while size and mtime match', async () => {
    const img = join(dir, 'a.img');
    await writeFile(img, Buffer.alloc(5 * SLICE + 100, 3));
    const first = await loadOrBuildManifest(img, { sliceSize: SLICE });
    assert.equal(first.cached, false);
    const second = await loadOrBuildManifest(img, { sliceSize: SLICE });
    assert.equal(second.cached, true);
    assert.deepEqual(second.manifest, first.manifest);
  });

  test('rebuilds when the image changes (new mtime) and the imageId changes with the content', async () => {
    const img = join(dir, 'b.img');
    await writeFile(img, Buffer.alloc(3 * SLICE, 1));
    const before = await loadOrBuildManifest(img, { sliceSize: SLICE });
    await writeFile(img, Buffer.alloc(3 * SLICE, 2));
    await utimes(img, new Date(), new Date(Date.now() + 5000));
    const afterChange = await loadOrBuildManifest(img, { sliceSize: SLICE });
    assert.equal(afterChange.cached, false);
    assert.notEqual(afterChange.manifest.imageId, before.manifest.imageId);
  });

  test('rebuilds when the slice size differs from the cached one', async () => {
    const img = join(dir, 'c.img');
    await writeFile(img, Buffer.alloc(4 * SLICE, 9));
    await loadOrBuildManifest(img, { sliceSize: SLICE });
    const other = await loadOrBuildManifest(img, { sliceSize: 2 * SLICE });
    assert.equal(other.cached, false);
    assert.equal(other.manifest.sliceSize, 2 * SLICE);
  });

  test('keeps a manifest per slice size: a relay session and a classic one both start from the cache', async () => {
    const img = join(dir, 'multi.img');
    await writeFile(img, Buffer.alloc(4 * SLICE + 7, 5));
    const small = await loadOrBuildManifest(img, { sliceSize: SLICE });
    const big = await loadOrBuildManifest(img, { sliceSize: 2 * SLICE });
    assert.equal(big.cached, false);
    const smallAgain = await loadOrBuildManifest(img, { sliceSize: SLICE });
    const bigAgain = await loadOrBuildManifest(img, { sliceSize: 2 * SLICE });
    assert.equal(smallAgain.cached, true);
    assert.deepEqual(smallAgain.manifest, small.manifest);
    assert.equal(bigAgain.cached, true);
    assert.deepEqual(bigAgain.manifest, big.manifest);
    const sha = await loadOrBuildManifest(img, { sliceSize: SLICE, digest: 'sha256' });
    assert.equal(sha.cached, false);
    assert.equal((await loadOrBuildManifest(img, { sliceSize: SLICE })).cached, true);
  });

  test('a changed image drops every cached slice size', async () => {
    const img = join(dir, 'multi-changed.img');
    await writeFile(img, Buffer.alloc(3 * SLICE, 1));
    await loadOrBuildManifest(img, { sliceSize: SLICE });
    await loadOrBuildManifest(img, { sliceSize: 2 * SLICE });
    await writeFile(img, Buffer.alloc(3 * SLICE, 2));
    await utimes(img, new Date(), new Date(Date.now() + 5000));
    assert.equal((await loadOrBuildManifest(img, { sliceSize: SLICE })).cached, false);
    assert.equal((await loadOrBuildManifest(img, { sliceSize: 2 * SLICE })).cached, false);
  });

  test('a cache file of the one-entry format is still read', async () => {
    const img = join(dir, 'old-format.img');
    await writeFile(img, Buffer.alloc(2 * SLICE, 4));
    const built = await loadOrBuildManifest(img, { sliceSize: SLICE });
    const file = manifestCachePath(img);
    const { entries } = JSON.parse(await readFile(file, 'utf8')) as { entries: unknown[] };
    await writeFile(file, JSON.stringify(entries[0]));
    const again = await loadOrBuildManifest(img, { sliceSize: SLICE });
    assert.equal(again.cached, true);
    assert.deepEqual(again.manifest, built.manifest);
  });

  test('a damaged cache file is ignored and replaced', async () => {
    const img = join(dir, 'd.img');
    await writeFile(img, Buffer.alloc(2 * SLICE, 4));
    await loadOrBuildManifest(img, { sliceSize: SLICE });
    await writeFile(manifestCachePath(img), '{"key": {"size": 1}, "manifest": {"version": 1, "digests": ["forged"]}}');
    const r = await loadOrBuildManifest(img, { sliceSize: SLICE });
    assert.equal(r.cached, false);
    assert.equal(r.manifest.digests.length, 2);
    assert.equal((await loadOrBuildManifest(img, { sliceSize: SLICE })).cached, true);
  });

  test('a missing image is refused with ERR_IMAGE_UNREADABLE', async () => {
    await assert.rejects(loadOrBuildManifest(join(dir, 'missing.img')), {
      name: 'CascadeError',
      code: 'ERR_IMAGE_UNREADABLE',
    });
  });
});
