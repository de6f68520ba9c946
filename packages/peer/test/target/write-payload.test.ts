import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildManifest, MIN_SLICE_SIZE, UsedMap, type ByteRange } from '@cascade/common';
import { accountTarget } from '../../src/target/account-target.js';
import { openTarget, payloadRange, writePayload } from '../../src/target/target.js';
import { noise } from '../../../common/test/fixtures.js';

const S = MIN_SLICE_SIZE;
const SIZE = 4 * S;
/** Slice 1 is used only in two small pieces; slice 2 is used and all zeros; slice 3 unused. */
const USED: ByteRange[] = [
  [0, S + 1024],
  [S + 8192, S + 8192 + 2048],
  [2 * S, 3 * S],
];

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-write-payload-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('payloads on the target', () => {
  test('payloadRange: subarrays of the chunks, across chunk edges', () => {
    const chunks = [Buffer.from('abcd'), Buffer.from('efg'), Buffer.from('hij')];
    assert.equal(Buffer.concat(payloadRange(chunks, 2, 6)).toString(), 'cdefgh');
    assert.equal(Buffer.concat(payloadRange(chunks, 4, 3)).toString(), 'efg');
    assert.deepEqual(payloadRange(chunks, 10, 0), []);
  });

  test('--reuse hashes only used bytes; zero slices and payloads land on their pieces only, never on free space', async () => {
    const image = Buffer.concat([noise(2 * S, 1), Buffer.alloc(S), noise(S, 3)]);
    await writeFile(join(dir, 'image.img'), image);
    const used = UsedMap.fromRanges(USED, SIZE);
    const manifest = await buildManifest(join(dir, 'image.img'), { sliceSize: S, used });
    // The target: the image's used bytes in slice 0, other stale bytes everywhere else.
    const stale = noise(SIZE, 9);
    image.copy(stale, 0, 0, S);
    await writeFile(join(dir, 'target.img'), stale);
    const t = await openTarget(join(dir, 'target.img'), manifest);
    try {
      const { store, reused } = await accountTarget(t, manifest, { reuse: true });
      assert.equal(reused, 1, 'slice 0 (its used bytes match) is reused');
      assert.ok(store.has(2) && store.has(3), 'the zero and the unused slice are held without a fetch');
      assert.ok(!store.has(1));
      const payload = Buffer.concat([image.subarray(S, S + 1024), image.subarray(S + 8192, S + 8192 + 2048)]);
      await writePayload(
        t,
        [
          { position: S, payloadOffset: 0, length: 1024 },
          { position: S + 8192, payloadOffset: 1024, length: 2048 },
        ],
        [payload.subarray(0, 100), payload.subarray(100)],
      );
      await assert.rejects(writePayload(t, [{ position: S, payloadOffset: 0, length: 1024 }], [payload]), {
        code: 'ERR_TARGET_UNUSABLE',
      });
    } finally {
      await t.fh.close();
    }
    const onDisk = await readFile(join(dir, 'target.img'));
    for (const [s, e] of USED) assert.ok(onDisk.subarray(s, e).equals(image.subarray(s, e)), `used ${s}..${e}`);
    // Free space keeps its old bytes (a block device's behaviour; a new file would stay sparse).
    assert.ok(onDisk.subarray(S + 1024, S + 8192).equals(stale.subarray(S + 1024, S + 8192)));
    assert.ok(onDisk.subarray(3 * S).equals(stale.subarray(3 * S)));
  });
});
