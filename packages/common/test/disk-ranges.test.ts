import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  bitmapRanges,
  complementRanges,
  mergeRanges,
  rangesBytes,
  usedWithin,
  type ByteRange,
} from '../src/disk/ranges.js';
import { decodeRuns } from '../src/disk/ntfs.js';

const rangesArb = fc
  .array(fc.tuple(fc.nat(1 << 24), fc.nat(1 << 16)), { maxLength: 40 })
  .map((xs) => xs.map(([s, n]): ByteRange => [s, s + n]));

/** Bytes covered, as a set of unit indices (for small brute-force comparisons). */
function cells(ranges: readonly ByteRange[], unit: number): Set<number> {
  const out = new Set<number>();
  for (const [s, e] of ranges) {
    if (e > s) for (let u = Math.floor(s / unit); u < Math.ceil(e / unit); u++) out.add(u);
  }
  return out;
}

describe('byte ranges', () => {
  test('mergeRanges sorts, drops empty ranges and joins overlapping or adjacent ones', () => {
    assert.deepEqual(
      mergeRanges([
        [10, 20],
        [0, 5],
        [5, 8],
        [15, 30],
        [40, 40],
      ]),
      [
        [0, 8],
        [10, 30],
      ],
    );
    fc.assert(
      fc.property(rangesArb, (rs) => {
        const m = mergeRanges(rs);
        for (let i = 1; i < m.length; i++) assert.ok(m[i]![0] > m[i - 1]![1]);
        assert.deepEqual(cells(m, 4096), cells(rs, 4096));
      }),
    );
  });

  test('usedWithin returns the used parts of a slice, clipped to it', () => {
    const used: ByteRange[] = [
      [0, 100],
      [4000, 5000],
      [8192, 9000],
    ];
    assert.deepEqual(usedWithin(used, 4096, 8192), [[4096, 5000]]);
    assert.deepEqual(usedWithin(used, 100, 4000), []);
    assert.deepEqual(usedWithin(used, 0, 1 << 20), used);
    fc.assert(
      fc.property(rangesArb, fc.nat(1 << 24), fc.nat(1 << 20), (rs, start, len) => {
        const m = mergeRanges(rs);
        const got = usedWithin(m, start, start + len);
        const want = mergeRanges(m.map(([s, e]): ByteRange => [Math.max(s, start), Math.min(e, start + len)]));
        assert.deepEqual(got, want);
      }),
    );
  });

  test('complementRanges gives the gaps, and with the ranges covers the whole span', () => {
    fc.assert(
      fc.property(rangesArb, (rs) => {
        const m = mergeRanges(rs).filter(([, e]) => e <= 1 << 25);
        const gaps = complementRanges(m, 0, 1 << 25);
        assert.equal(rangesBytes(m) + rangesBytes(gaps), 1 << 25);
        assert.deepEqual(mergeRanges([...m, ...gaps]), [[0, 1 << 25]]);
      }),
    );
  });

  test('bitmapRanges reads LSB-first bits, in runs, up to the bit count', () => {
    const bm = Buffer.from([0b1111_0001, 0xff, 0x00, 0b0000_0001]);
    assert.deepEqual(bitmapRanges(bm, 32, 1000, 10), [
      [1000, 1010],
      [1040, 1160],
      [1240, 1250],
    ]);
    assert.deepEqual(bitmapRanges(bm, 5, 0, 1), [
      [0, 1],
      [4, 5],
    ]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const buf = Buffer.from(bytes);
        const count = buf.length * 8;
        const want = new Set<number>();
        for (let i = 0; i < count; i++) if ((buf[i >> 3]! >> (i & 7)) & 1) want.add(i);
        assert.deepEqual(cells(bitmapRanges(buf, count, 0, 1), 1), want);
      }),
    );
  });
});

describe('NTFS data runs', () => {
  test('decode lengths and signed relative offsets, and sparse runs', () => {
    // 0x21: 1-byte length, 2-byte offset; then a negative offset; then a sparse run; then the end
    const runs = decodeRuns(Buffer.from([0x21, 0x10, 0x00, 0x01, 0x11, 0x08, 0xf0, 0x01, 0x04, 0x00]));
    assert.deepEqual(runs, [
      { lcn: 256, length: 16 },
      { lcn: 240, length: 8 },
      { lcn: null, length: 4 },
    ]);
  });
});
