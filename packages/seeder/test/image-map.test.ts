import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { usedMap, wireBytes } from '@cascade/common';
import { fsTools, makeFiles, sh, toDelete } from '../../common/test/disk-fixtures.js';
import { loadOrBuildManifest } from '../src/manifest-cache.js';

describe('the seeder maps an image to the blocks its filesystems use', () => {
  let dir: string;
  let image: string;
  let skip: string | null = null;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cascade-image-map-'));
    skip = await fsTools();
    if (skip) return;
    // A 64 MiB ext4 filled with files, a third of them then deleted: free space holds their bytes.
    image = join(dir, 'ext4.img');
    await writeFile(image, randomBytes(64 << 20));
    const files = await makeFiles(join(dir, 'files'), 30, 512, 7);
    await sh('mkfs.ext4', ['-q', '-F', '-b', '4096', '-d', join(dir, 'files'), image]);
    for (const f of toDelete(files)) await sh('debugfs', ['-w', '-R', `rm /${f}`, image]);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('only the used bytes are hashed; --whole-disk hashes every byte; each is cached apart', async (t) => {
    if (skip) return t.skip(skip);
    const mapped = await loadOrBuildManifest(image, { sliceSize: 1 << 20 });
    const map = usedMap(mapped.manifest);
    assert.ok(map, 'an ext4 image gets a used map');
    assert.ok(map.usedBytes < 40 << 20, `used ${map.usedBytes} of 64 MiB`);
    assert.ok(map.usedBytes > 2 << 20, 'the files are in it');
    assert.equal(wireBytes(mapped.manifest) <= map.usedBytes, true);
    const whole = await loadOrBuildManifest(image, { sliceSize: 1 << 20, wholeDisk: true });
    assert.equal(whole.manifest.used, undefined);
    assert.equal(whole.cached, false);
    assert.notEqual(whole.manifest.imageId, mapped.manifest.imageId);
    const again = await loadOrBuildManifest(image, { sliceSize: 1 << 20 });
    assert.equal(again.cached, true, 'the mapped manifest stays cached beside the whole-disk one');
    assert.equal(again.manifest.imageId, mapped.manifest.imageId);
  });

  test('an image with no filesystem is sent whole, as before', async () => {
    const raw = join(dir, 'raw.img');
    await writeFile(raw, randomBytes(3 << 20));
    const { manifest } = await loadOrBuildManifest(raw, { sliceSize: 1 << 20 });
    assert.equal(manifest.used, undefined);
    await unlink(raw);
  });
});
