import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { manifestCacheFile } from '../src/cache-location.js';
import { loadOrBuildManifest } from '../src/manifest-cache.js';

const dir = await mkdtemp(join(tmpdir(), 'cascade-cache-dir-'));
after(() => rm(dir, { recursive: true, force: true }));

const SLICE = 64 * 1024;

describe('manifest cache in a cache folder (systemd CacheDirectory)', () => {
  test('beside the image without a folder; in the folder, unique per image path, with one', () => {
    assert.equal(manifestCacheFile('/srv/images/win11.img'), '/srv/images/win11.img.cascade-manifest.json');
    const a = manifestCacheFile('/srv/images/win11.img', '/var/cache/cascade-seeder');
    const b = manifestCacheFile('/srv/other/win11.img', '/var/cache/cascade-seeder');
    assert.match(a, /^\/var\/cache\/cascade-seeder\/win11\.img-[0-9a-f]{12}\.cascade-manifest\.json$/);
    assert.notEqual(a, b, 'two images of one name share a cache entry');
  });

  test('a restart reuses the manifest cached in the folder and writes nothing beside the image', async () => {
    const images = join(dir, 'images');
    const cache = join(dir, 'cache', 'cascade-seeder'); // made on first use
    await rm(images, { recursive: true, force: true });
    await mkdir(images);
    const img = join(images, 'win11.img');
    await writeFile(img, Buffer.alloc(3 * SLICE + 5, 7));
    const first = await loadOrBuildManifest(img, { sliceSize: SLICE, cacheDir: cache });
    assert.equal(first.cached, false);
    const second = await loadOrBuildManifest(img, { sliceSize: SLICE, cacheDir: cache });
    assert.equal(second.cached, true);
    assert.deepEqual(await readdir(images), ['win11.img']);
    assert.equal((await readdir(cache)).length, 1);
  });
});
