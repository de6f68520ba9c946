import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadOrBuildManifest } from '@cascade/seeder';
import { imageSizes, sizeLines } from '../src/commands/manifest-sizes.js';

const MiB = 1024 * 1024;

/** Text-like bytes zstd shrinks several times, with one all-zero slice in the middle. */
function compressible(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let at = 0; at < size;) at += b.write(`${at} pc-${at % 97} imaged slice ${at % 1013}\n`, at);
  b.fill(0, 2 * MiB, 3 * MiB);
  return b;
}

describe('cascade manifest: image sizes', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  test('builds the compressed cache once: image, used, payload and wire bytes and the ratio', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cascade-sizes-'));
    dirs.push(dir);
    const image = join(dir, 'img');
    await writeFile(image, compressible(6 * MiB));
    const { manifest } = await loadOrBuildManifest(image, { sliceSize: MiB, cacheDir: dir });
    const first = await imageSizes(image, manifest, { level: 3, cacheDir: dir });
    assert.deepEqual([first.image, first.used, first.payload, first.compress], [6 * MiB, 6 * MiB, 5 * MiB, 3]);
    assert.ok(first.wire > 0 && first.wire < first.payload / 3, `wire ${first.wire}`);
    assert.ok(first.ratio > 3 && first.buildSeconds > 0, JSON.stringify(first));
    const again = await imageSizes(image, manifest, { level: 3, cacheDir: dir });
    assert.deepEqual({ ...again, buildSeconds: 1 }, { ...first, buildSeconds: 1 });
    assert.equal(again.buildSeconds, 0, 'the cache is reused');
    const lines = sizeLines(again);
    assert.match(lines[0]!, /^payload {3}5\.0 MiB/);
    assert.match(lines[1]!, /^on wire {3}[\d.]+ [KM]iB \(zstd -3\)$/);
    assert.match(lines[2]!, /^ratio {5}[\d.]+× \(payload ÷ wire\)$/);

    const off = await imageSizes(image, manifest, { level: 0, cacheDir: dir });
    assert.deepEqual({ wire: off.wire, ratio: off.ratio }, { wire: 5 * MiB, ratio: 1 });
    assert.match(sizeLines(off)[1]!, /not compressed: --compress 0/);
  });
});
