import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DigestWorker } from '../src/data/digest-worker.js';
import { FileSliceSource, VerifyingSliceSource } from '../src/data/slice-source.js';
import { CascadeError, isCascadeError } from '../src/errors.js';
import { buildManifest } from '../src/manifest/build-manifest.js';
import { sliceDigest } from '../src/manifest/digest.js';
import { MIN_SLICE_SIZE } from '../src/manifest/manifest.js';
import { noise } from './fixtures.js';

test('a server checking its own reads sends matching slices and refuses with ERR_IMAGE_CHANGED once the bytes change, telling its owner once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cascade-verifying-'));
  const path = join(dir, 'dev.img');
  await writeFile(path, noise(3 * MIN_SLICE_SIZE, 9));
  const manifest = await buildManifest(path, { sliceSize: MIN_SLICE_SIZE });
  const fh = await open(path, 'r+');
  const worker = new DigestWorker();
  const changes: CascadeError[] = [];
  try {
    const source = new VerifyingSliceSource(
      new FileSliceSource(manifest, fh),
      (a, c) => worker.digest(a, c),
      (e) => changes.push(e),
    );
    const first = await source.readSlice(1);
    assert.equal(sliceDigest(manifest.digest, first), manifest.digests[1]);
    await fh.write(Buffer.from([1, 2, 3]), 0, 3, 2 * MIN_SLICE_SIZE + 10); // slice 2 changes under it
    await assert.rejects(
      source.readSlice(2),
      (e) => isCascadeError(e, 'ERR_IMAGE_CHANGED') && /slice 2/.test(e.message),
    );
    // From then on nothing is served, not even slices that still match.
    await assert.rejects(source.readSlice(0), (e) => isCascadeError(e, 'ERR_IMAGE_CHANGED'));
    assert.equal(changes.length, 1);
  } finally {
    await worker.close();
    await fh.close();
    await rm(dir, { recursive: true, force: true });
  }
});
