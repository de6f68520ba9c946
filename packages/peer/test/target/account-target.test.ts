import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildManifest, DigestPool, MIN_SLICE_SIZE } from '@cascade/common';
import { openTarget } from '../../src/target/target.js';
import { accountTarget } from '../../src/target/account-target.js';

const S = MIN_SLICE_SIZE;
const COUNT = 12;

/** Deterministic bytes that differ per slice (`salt` changes them all). */
function sliceBytes(i: number, salt: number): Buffer {
  const b = Buffer.alloc(S);
  for (let k = 0; k < S; k += 4) b.writeUInt32LE((Math.imul(i + 1, 2654435761) ^ Math.imul(k + salt, 40503)) >>> 0, k);
  return b;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-target-store-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('accountTarget --reuse', () => {
  test('hashed on a pool (MD5 lanes), the target keeps exactly the slices it hashed inline', async () => {
    const image = join(dir, 'image.img');
    const target = join(dir, 'target.img');
    const slices = Array.from({ length: COUNT }, (_, i) => sliceBytes(i, 0));
    await writeFile(image, Buffer.concat(slices));
    // Every third slice differs in the target; the rest are the image's.
    await writeFile(target, Buffer.concat(slices.map((b, i) => (i % 3 === 0 ? sliceBytes(i, 7) : b))));
    const manifest = await buildManifest(image, { sliceSize: S });
    const pool = new DigestPool(2);
    try {
      const held = async (hashing: object): Promise<number[]> => {
        const t = await openTarget(target, manifest);
        try {
          const { store } = await accountTarget(t, manifest, { reuse: true, ...hashing });
          return Array.from({ length: COUNT }, (_, i) => i).filter((i) => store.has(i));
        } finally {
          await t.fh.close();
        }
      };
      const inline = await held({});
      const pooled = await held({ hash: pool.digest, hashers: pool.slicesAtOnce('md5') });
      assert.deepEqual(
        inline,
        Array.from({ length: COUNT }, (_, i) => i).filter((i) => i % 3 !== 0),
      );
      assert.deepEqual(pooled, inline);
      assert.ok(pool.laned > 0, 'the target was hashed through the lanes');
    } finally {
      await pool.close();
    }
  });
});
