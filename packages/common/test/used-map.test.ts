import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { CascadeError } from '../src/errors.js';
import { buildManifest } from '../src/manifest/build-manifest.js';
import {
  MIN_SLICE_SIZE,
  parseManifest,
  slicePayloadLength,
  slicePieces,
  wireBytes,
  zeroMap,
} from '../src/manifest/manifest.js';
import type { ByteRange } from '../src/disk/ranges.js';
import { payloadPieces, USED_UNIT, UsedMap } from '../src/manifest/used-map.js';

const S = MIN_SLICE_SIZE;
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

describe('used map', () => {
  test('ranges are rounded out to 512 bytes, clamped to the size, sorted and merged', () => {
    const map = UsedMap.fromRanges(
      [
        [5000, 5100],
        [0, 10],
        [5100, 6000],
        [9990, 20_000],
      ],
      10_000,
    );
    assert.deepEqual(
      [...map.ranges()],
      [
        [0, 512],
        [4608, 6144],
        [9728, 10_000],
      ],
    );
    assert.equal(map.usedBytes, 512 + 1536 + 272);
  });

  test('encode and decode are inverse, for any set of ranges', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(1 << 30), fc.nat(1 << 20)), { maxLength: 50 }),
        fc.integer({ min: 1, max: 2 ** 40 }),
        (raw, size) => {
          const map = UsedMap.fromRanges(
            raw.map(([s, l]): ByteRange => [s, s + l]),
            size,
          );
          const back = UsedMap.decode(map.encode(), size);
          assert.deepEqual([...back.ranges()], [...map.ranges()]);
          assert.equal(back.usedBytes, map.usedBytes);
        },
      ),
    );
  });

  test('is small: a few bytes for a 20 GB disk in one run, 2–5 bytes per run', () => {
    assert.ok(Buffer.from(UsedMap.fromRanges([[0, 20e9]], 20e9).encode(), 'base64').length <= 8);
    const runs: ByteRange[] = Array.from({ length: 10_000 }, (_, i) => [i * 2e6, i * 2e6 + 300_000]);
    const n = Buffer.from(UsedMap.fromRanges(runs, 20e9).encode(), 'base64').length;
    assert.ok(n > 20_000 && n < 50_000, `${n} bytes for 10,000 runs`);
  });

  test('offsets beyond 4 GiB survive the encoding (a 2 TB disk)', () => {
    const size = 2 * 1024 ** 4;
    const map = UsedMap.fromRanges([[size - 2 * USED_UNIT, size]], size);
    assert.deepEqual([...UsedMap.decode(map.encode(), size).ranges()], [[size - 1024, size]]);
  });

  test('within and bytesWithin cut ranges at the window', () => {
    const map = UsedMap.fromRanges(
      [
        [0, 1024],
        [2048, 4096],
        [8192, 9216],
      ],
      16_384,
    );
    assert.deepEqual(map.within(512, 3072), [
      [512, 1024],
      [2048, 3072],
    ]);
    assert.deepEqual(map.within(4096, 8192), []);
    assert.equal(map.bytesWithin(0, 16_384), 1024 + 2048 + 1024);
    assert.deepEqual(payloadPieces(map, 512, 3072), [
      { position: 512, payloadOffset: 0, length: 512 },
      { position: 2048, payloadOffset: 512, length: 1024 },
    ]);
    assert.deepEqual(payloadPieces(null, 100, 200), [{ position: 100, payloadOffset: 0, length: 100 }]);
  });

  test('a malformed or out-of-image map is ERR_MANIFEST_INVALID, never a crash', () => {
    const bad = (b64: string, size = 1 << 20): void =>
      assert.throws(
        () => UsedMap.decode(b64, size),
        (e: unknown) => e instanceof CascadeError && e.code === 'ERR_MANIFEST_INVALID',
      );
    bad(Buffer.from([0x80]).toString('base64')); // truncated varint
    bad(Buffer.from([0, 0]).toString('base64')); // empty range
    bad(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).toString('base64')); // too long
    bad(Buffer.from([0x7f, 0x7f, 0x7f, 0x01]).toString('base64'), 4096); // outside the image
    bad(Buffer.from([0, 1, 0, 1]).toString('base64')); // two ranges touching
  });
});

describe('a manifest with a used map', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cascade-used-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** 4 slices: slice 0 half used, slice 1 unused, slice 2 used but zero, slice 3 two pieces. */
  const ranges: ByteRange[] = [
    [0, S / 2],
    [2 * S, 2 * S + 4096],
    [3 * S + 512, 3 * S + 1024],
    [3 * S + 8192, 4 * S],
  ];

  async function imageWithJunk(): Promise<{ path: string; image: Buffer }> {
    const image = randomBytes(4 * S);
    image.fill(0, 2 * S, 2 * S + 4096);
    const path = join(dir, `img-${Math.random().toString(36).slice(2)}`);
    await writeFile(path, image);
    return { path, image };
  }

  test('digests cover the used bytes only: junk in free space changes nothing', async () => {
    const used = UsedMap.fromRanges(ranges, 4 * S);
    const a = await imageWithJunk();
    const b = await imageWithJunk();
    // Same used bytes in both images, different junk elsewhere.
    for (const [s, e] of ranges) a.image.copy(b.image, s, s, e);
    await writeFile(b.path, b.image);
    const ma = await buildManifest(a.path, { sliceSize: S, used });
    const mb = await buildManifest(b.path, { sliceSize: S, used });
    assert.equal(ma.imageId, mb.imageId);
    assert.deepEqual(ma.digests, mb.digests);
    const payload0 = a.image.subarray(0, S / 2);
    assert.equal(ma.digests[0], md5(payload0));
    assert.equal(
      ma.digests[3],
      md5(Buffer.concat([a.image.subarray(3 * S + 512, 3 * S + 1024), a.image.subarray(3 * S + 8192, 4 * S)])),
    );
    const zero = zeroMap(ma);
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => zero.get(i)),
      [false, true, true, false],
    );
    assert.equal(slicePayloadLength(ma, 1), 0);
    assert.equal(wireBytes(ma), S / 2 + 512 + (S - 8192));
    assert.deepEqual(slicePieces(ma, 3), [
      { position: 3 * S + 512, payloadOffset: 0, length: 512 },
      { position: 3 * S + 8192, payloadOffset: 512, length: S - 8192 },
    ]);
  });

  test('parseManifest accepts it; another map is another image; a forged map is refused', async () => {
    const { path } = await imageWithJunk();
    const m = await buildManifest(path, { sliceSize: S, used: UsedMap.fromRanges(ranges, 4 * S) });
    assert.deepEqual(parseManifest(structuredClone(m)), m);
    const whole = await buildManifest(path, { sliceSize: S });
    assert.notEqual(whole.imageId, m.imageId);
    assert.equal(whole.used, undefined);
    const forged = { ...m, used: UsedMap.fromRanges([[0, 4 * S]], 4 * S).encode() };
    assert.throws(
      () => parseManifest(forged),
      (e: unknown) => e instanceof CascadeError && e.code === 'ERR_MANIFEST_INVALID',
    );
  });
});
