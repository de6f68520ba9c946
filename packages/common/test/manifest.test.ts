import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { CascadeError, type ErrorCode } from '../src/errors.js';
import { buildManifest, isAllZero, md5Hex } from '../src/manifest/build-manifest.js';
import {
  computeImageId,
  MIN_SLICE_SIZE,
  parseManifest,
  SliceBitmap,
  sliceCount,
  sliceLength,
  wireBytes,
  zeroMap,
  type Manifest,
} from '../src/manifest/manifest.js';
import { makeImage } from './fixtures.js';

const S = MIN_SLICE_SIZE;

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

function assertCode(code: ErrorCode): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof CascadeError, `expected a CascadeError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

let dir: string;
/** 5 full slices (1 and 3 all zeros) and a short last slice of 1000 bytes. */
let image: Buffer;
let imagePath: string;
let manifest: Manifest;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-manifest-test-'));
  image = makeImage([S, S, S, S, S, 1000], new Set([1, 3]));
  imagePath = join(dir, 'lab.img');
  await writeFile(imagePath, image);
  manifest = await buildManifest(imagePath, { sliceSize: S });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('buildManifest', () => {
  test('it lists one MD5 per slice, matching an independent hash of each slice', () => {
    assert.equal(manifest.version, 1);
    assert.equal(manifest.digest, 'md5');
    assert.equal(manifest.size, 5 * S + 1000);
    assert.equal(manifest.sliceSize, S);
    assert.equal(manifest.name, 'lab.img');
    assert.equal(manifest.digests.length, 6);
    for (let i = 0; i < 6; i++) {
      assert.equal(manifest.digests[i], md5(image.subarray(i * S, Math.min((i + 1) * S, image.length))), `slice ${i}`);
    }
  });

  test('zero slices are flagged in the bitmap and no other slice is', () => {
    const zero = zeroMap(manifest);
    assert.deepEqual(
      Array.from({ length: 6 }, (_, i) => zero.get(i)),
      [false, true, false, true, false, false],
    );
    assert.equal(zero.cardinality(), 2);
  });

  test('the last short slice has its real length and the digest of just those bytes', () => {
    assert.equal(sliceLength(manifest, 5), 1000);
    assert.equal(sliceLength(manifest, 4), S);
    assert.equal(sliceLength(manifest, 6), 0);
    assert.equal(manifest.digests[5], md5(image.subarray(5 * S)));
    assert.notEqual(manifest.digests[5], md5(Buffer.concat([image.subarray(5 * S), Buffer.alloc(S - 1000)])));
  });

  test('a short last slice of zeros is flagged and wireBytes leaves it out', async () => {
    const path = join(dir, 'zero-tail.img');
    await writeFile(path, makeImage([S, S, 500], new Set([2])));
    const m = await buildManifest(path, { sliceSize: S });
    assert.equal(zeroMap(m).get(2), true);
    assert.equal(m.digests[2], md5(Buffer.alloc(500)));
    assert.equal(wireBytes(m), 2 * S);
  });

  test('wireBytes counts every byte except those of zero slices', () => {
    assert.equal(wireBytes(manifest), manifest.size - 2 * S);
    assert.equal(wireBytes(manifest), 3 * S + 1000);
  });

  test('an image of all zeros crosses the wire as nothing', async () => {
    const path = join(dir, 'blank.img');
    await writeFile(path, Buffer.alloc(3 * S));
    const m = await buildManifest(path, { sliceSize: S });
    assert.equal(zeroMap(m).cardinality(), 3);
    assert.equal(wireBytes(m), 0);
  });

  test('the manifest is deterministic: building it twice gives the same imageId', async () => {
    const again = await buildManifest(imagePath, { sliceSize: S });
    assert.deepEqual(again, manifest);
  });

  test('the imageId changes when one byte of the image changes', async () => {
    const changed = Buffer.from(image);
    changed[2 * S + 17] = (changed[2 * S + 17] ?? 0) ^ 1;
    const path = join(dir, 'changed.img');
    await writeFile(path, changed);
    const m = await buildManifest(path, { sliceSize: S });
    assert.notEqual(m.imageId, manifest.imageId);
    assert.notEqual(m.digests[2], manifest.digests[2]);
    assert.deepEqual(m.digests.slice(3), manifest.digests.slice(3));
  });

  test('the imageId changes when a zero slice gains one non-zero byte', async () => {
    const changed = Buffer.from(image);
    changed[S + 5] = 1;
    const path = join(dir, 'unzeroed.img');
    await writeFile(path, changed);
    const m = await buildManifest(path, { sliceSize: S });
    assert.equal(zeroMap(m).get(1), false);
    assert.notEqual(m.imageId, manifest.imageId);
  });

  test('the imageId does not change when the file is renamed, but the name does', async () => {
    const copy = join(dir, 'copy.img');
    await copyFile(imagePath, copy);
    const renamed = join(dir, 'renamed.img');
    await rename(copy, renamed);
    const m = await buildManifest(renamed, { sliceSize: S });
    assert.equal(m.imageId, manifest.imageId);
    assert.equal(m.name, 'renamed.img');
    const named = await buildManifest(renamed, { sliceSize: S, name: 'golden' });
    assert.equal(named.name, 'golden');
    assert.equal(named.imageId, manifest.imageId);
  });

  test('the imageId depends on the slice size', async () => {
    const m = await buildManifest(imagePath, { sliceSize: 2 * S });
    assert.equal(m.digests.length, 3);
    assert.notEqual(m.imageId, manifest.imageId);
  });

  test('progress is reported once per slice, ending at (count, count)', async () => {
    const calls: Array<[number, number]> = [];
    await buildManifest(imagePath, { sliceSize: S, onProgress: (done, total) => calls.push([done, total]) });
    assert.deepEqual(
      calls,
      Array.from({ length: 6 }, (_, i) => [i + 1, 6]),
    );
  });

  test('an empty image has no slices and a valid manifest', async () => {
    const path = join(dir, 'empty.img');
    await writeFile(path, Buffer.alloc(0));
    const m = await buildManifest(path, { sliceSize: S });
    assert.equal(m.size, 0);
    assert.deepEqual(m.digests, []);
    assert.equal(wireBytes(m), 0);
    assert.deepEqual(parseManifest(m), m);
  });

  test('a slice size outside the allowed range is refused with ERR_BAD_CONFIG', async () => {
    await assert.rejects(buildManifest(imagePath, { sliceSize: S - 1 }), assertCode('ERR_BAD_CONFIG'));
    await assert.rejects(buildManifest(imagePath, { sliceSize: S + 0.5 }), assertCode('ERR_BAD_CONFIG'));
    await assert.rejects(buildManifest(imagePath, { sliceSize: 128 * 1024 * 1024 }), assertCode('ERR_BAD_CONFIG'));
  });

  test('a missing image is refused with ERR_IMAGE_UNREADABLE', async () => {
    await assert.rejects(buildManifest(join(dir, 'nope.img'), { sliceSize: S }), assertCode('ERR_IMAGE_UNREADABLE'));
  });

  test('an image shorter than the size asked for is refused with ERR_IMAGE_UNREADABLE', async () => {
    await assert.rejects(
      buildManifest(imagePath, { sliceSize: S, size: image.length + 10 }),
      assertCode('ERR_IMAGE_UNREADABLE'),
    );
  });
});

describe('isAllZero and md5Hex', () => {
  test('isAllZero is true only when every byte is zero', () => {
    assert.equal(isAllZero(Buffer.alloc(0)), true);
    assert.equal(isAllZero(Buffer.alloc(S)), true);
    const b = Buffer.alloc(S);
    b[S - 1] = 1;
    assert.equal(isAllZero(b), false);
    assert.equal(isAllZero(Buffer.alloc(3 * S)), true);
  });

  test('md5Hex of a list of chunks equals md5Hex of their concatenation', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }), (parts) => {
        const chunks = parts.map((p) => Buffer.from(p));
        assert.equal(md5Hex(chunks), md5Hex(Buffer.concat(chunks)));
        assert.equal(md5Hex(Buffer.concat(chunks)), md5(Buffer.concat(chunks)));
      }),
    );
  });
});

describe('parseManifest', () => {
  const clone = (): Manifest => structuredClone(manifest);

  test('a genuine manifest is accepted unchanged, also after a JSON round trip', () => {
    assert.deepEqual(parseManifest(clone()), manifest);
    assert.deepEqual(parseManifest(JSON.parse(JSON.stringify(manifest))), manifest);
  });

  test('a renamed manifest is still accepted: the name is not part of the imageId', () => {
    const m = { ...clone(), name: 'other-name.img' };
    assert.equal(parseManifest(m).name, 'other-name.img');
  });

  test('a tampered digest list is refused with ERR_MANIFEST_INVALID', () => {
    const m = clone();
    const d = m.digests[2] as string;
    m.digests[2] = (d[0] === '0' ? '1' : '0') + d.slice(1);
    assert.throws(() => parseManifest(m), assertCode('ERR_MANIFEST_INVALID'));
  });

  test('swapping two digests is refused with ERR_MANIFEST_INVALID', () => {
    const m = clone();
    [m.digests[0], m.digests[2]] = [m.digests[2] as string, m.digests[0] as string];
    assert.throws(() => parseManifest(m), assertCode('ERR_MANIFEST_INVALID'));
  });

  test('a tampered zero bitmap is refused with ERR_MANIFEST_INVALID', () => {
    const m = clone();
    const zero = zeroMap(m);
    zero.set(0);
    m.zero = zero.toBase64();
    assert.throws(() => parseManifest(m), assertCode('ERR_MANIFEST_INVALID'));
  });

  test('a wrong digest count is refused with ERR_MANIFEST_INVALID even when the imageId is recomputed', () => {
    for (const digests of [manifest.digests.slice(0, -1), [...manifest.digests, manifest.digests[0] as string]]) {
      const m = { ...clone(), digests };
      m.imageId = computeImageId(m);
      assert.throws(() => parseManifest(m), assertCode('ERR_MANIFEST_INVALID'));
    }
  });

  test('a size that does not match the digest count is refused with ERR_MANIFEST_INVALID', () => {
    const m = { ...clone(), size: manifest.size + S };
    m.imageId = computeImageId(m);
    assert.throws(() => parseManifest(m), assertCode('ERR_MANIFEST_INVALID'));
  });

  test('a zero bitmap of the wrong length is refused with ERR_MANIFEST_INVALID', () => {
    const m = { ...clone(), zero: Buffer.alloc(3).toString('base64') };
    m.imageId = computeImageId(m);
    assert.throws(() => parseManifest(m), assertCode('ERR_MANIFEST_INVALID'));
  });

  test('a bad imageId is refused with ERR_MANIFEST_INVALID', () => {
    const other = manifest.imageId.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
    for (const imageId of [other, 'not-an-id', '', manifest.imageId.toUpperCase(), manifest.imageId + '00']) {
      assert.throws(() => parseManifest({ ...clone(), imageId }), assertCode('ERR_MANIFEST_INVALID'), imageId);
    }
  });

  test('ill-typed fields and non-objects are refused with ERR_MANIFEST_INVALID', () => {
    const bad: unknown[] = [
      null,
      undefined,
      42,
      'manifest',
      [],
      { ...clone(), version: 2 },
      { ...clone(), digest: 'sha1' },
      { ...clone(), sliceSize: 4096 },
      { ...clone(), size: -1 },
      { ...clone(), size: '393216' },
      { ...clone(), digests: manifest.digests.map((d) => d.toUpperCase()) },
      { ...clone(), digests: 'abc' },
      { ...clone(), name: 'x'.repeat(256) },
      { ...clone(), zero: undefined },
    ];
    for (const input of bad) {
      assert.throws(() => parseManifest(input), assertCode('ERR_MANIFEST_INVALID'));
    }
  });
});

describe('sliceCount and sliceLength', () => {
  test('sliceCount rounds up and sliceLength sums to the image size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 * S }), fc.constantFrom(S, 2 * S, 3 * S), (size, sliceSize) => {
        const count = sliceCount(size, sliceSize);
        assert.equal(count, Math.ceil(size / sliceSize));
        let total = 0;
        for (let i = 0; i < count; i++) {
          const len = sliceLength({ size, sliceSize }, i);
          assert.ok(len > 0 && len <= sliceSize);
          total += len;
        }
        assert.equal(total, size);
      }),
    );
  });
});

describe('SliceBitmap', () => {
  test('property: a bitmap survives a base64 round trip bit for bit', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 0, max: 300 })
          .chain((count) =>
            fc.tuple(fc.constant(count), fc.uniqueArray(fc.nat({ max: Math.max(0, count - 1) }), { maxLength: count })),
          ),
        ([count, indices]) => {
          const bm = new SliceBitmap(count);
          for (const i of indices) bm.set(i);
          const back = SliceBitmap.fromBase64(count, bm.toBase64());
          const set = new Set(indices);
          for (let i = 0; i < count; i++) assert.equal(back.get(i), set.has(i), `bit ${i}`);
          assert.equal(back.cardinality(), set.size);
          assert.equal(back.bytes.length, Math.ceil(count / 8));
        },
      ),
    );
  });

  test('bits are LSB first within each byte', () => {
    const bm = new SliceBitmap(16);
    bm.set(0);
    bm.set(9);
    assert.deepEqual([...bm.bytes], [0b0000_0001, 0b0000_0010]);
  });

  test('setting a bit twice leaves it set and counted once', () => {
    const bm = new SliceBitmap(10);
    bm.set(3);
    bm.set(3);
    assert.equal(bm.get(3), true);
    assert.equal(bm.cardinality(), 1);
  });

  test('a base64 string of the wrong length is refused with ERR_MANIFEST_INVALID', () => {
    assert.throws(
      () => SliceBitmap.fromBase64(9, Buffer.alloc(1).toString('base64')),
      assertCode('ERR_MANIFEST_INVALID'),
    );
    assert.throws(
      () => SliceBitmap.fromBase64(8, Buffer.alloc(2).toString('base64')),
      assertCode('ERR_MANIFEST_INVALID'),
    );
  });
});

describe('parseManifest and zero slices', () => {
  test('a slice flagged all-zero whose digest is not that of zeros is refused', async () => {
    const zero = new SliceBitmap(2);
    zero.set(0);
    const digests = [md5(Buffer.alloc(S, 1)), md5(Buffer.alloc(S, 2))];
    const body = {
      version: 1 as const,
      size: 2 * S,
      sliceSize: S,
      digest: 'md5' as const,
      digests,
      zero: zero.toBase64(),
    };
    const m = { ...body, imageId: computeImageId(body), name: 'forged.img' };
    assert.throws(() => parseManifest(m), assertCode('ERR_MANIFEST_INVALID'));
    const honest = { ...body, digests: [md5(Buffer.alloc(S)), digests[1] as string] };
    assert.equal(parseManifest({ ...honest, imageId: computeImageId(honest), name: 'ok.img' }).digests.length, 2);
  });
});
