import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isCascadeError } from '../src/errors.js';
import {
  compressSlice,
  decompressSlice,
  ZSTD_DEFAULT_LEVEL,
  ZSTD_MAX_LEVEL,
} from '../src/compress/slice-compression.js';
import { nodeZstdCodec, zstdCodec } from '../src/compress/zstd-codec.js';
import { zstdWasmModule } from '../src/compress/zstd-wasm-module.js';
import { zstdWasmCodec } from '../src/compress/zstd-wasm.js';
import { noise } from './fixtures.js';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

/** Compressible bytes: words from a small vocabulary, with some noise (like text and code). */
function texty(length: number, seed: number): Buffer {
  const words = ['slice', 'image', 'cascade', 'peer', 'seeder', '\n', ' ', 'ext4', '0x00', 'zstd'];
  const n = noise(length, seed);
  const out = Buffer.alloc(length);
  let at = 0;
  for (let i = 0; at < length; i++) at += out.write(words[n[i % length]! % words.length]!, at);
  return out;
}

const decompressFails = (err: unknown): boolean => isCascadeError(err, 'ERR_SLICE_DECOMPRESS');

describe('compressSlice / decompressSlice', () => {
  test('round trip at every size edge (block, window and slice boundaries)', () => {
    const K = 1024;
    const sizes = [
      1,
      2,
      63,
      64,
      65,
      4095,
      4096,
      4097,
      128 * K - 1,
      128 * K,
      128 * K + 1,
      1 << 20,
      4 << 20,
      (4 << 20) + 1,
    ];
    for (const size of sizes) {
      const src = texty(size, size);
      const wire = compressSlice(src);
      if (wire === null) {
        assert.ok(size < 256, `${size} bytes of text did not shrink`);
        continue;
      }
      assert.ok(wire.length < size);
      assert.equal(md5(decompressSlice(wire, size)), md5(src), `size ${size}`);
    }
  });

  test('every level round-trips; a level zstd does not have is ERR_BAD_CONFIG', () => {
    const src = texty(300_000, 1);
    for (const level of [1, 3, 6, 9, ZSTD_MAX_LEVEL]) {
      const wire = compressSlice(src, level);
      assert.ok(wire, `level ${level}`);
      assert.equal(md5(decompressSlice(wire, src.length)), md5(src));
    }
    for (const bad of [0, -1, 20, 2.5, NaN])
      assert.throws(
        () => compressSlice(src, bad),
        (e: unknown) => isCascadeError(e, 'ERR_BAD_CONFIG'),
      );
  });

  test('a slice that does not shrink is null (sent raw): random bytes, one byte, nothing', () => {
    assert.equal(compressSlice(noise(4 << 20, 3)), null);
    assert.equal(compressSlice(noise(1, 3)), null);
    assert.equal(compressSlice(new Uint8Array(0)), null);
    assert.ok(compressSlice(new Uint8Array(4 << 20)), 'zeros shrink');
  });

  test('decompresses into a given buffer: the view returned is its start; a short one is ERR_INTERNAL', () => {
    const src = texty(100_000, 2);
    const wire = compressSlice(src)!;
    const into = new Uint8Array(200_000).fill(7);
    const out = decompressSlice(wire, src.length, into);
    assert.equal(out.buffer, into.buffer);
    assert.equal(out.byteOffset, 0);
    assert.equal(md5(out), md5(src));
    assert.equal(into[src.length], 7, 'nothing written past the image length');
    assert.throws(
      () => decompressSlice(wire, src.length, new Uint8Array(99_999)),
      (e: unknown) => isCascadeError(e, 'ERR_INTERNAL'),
    );
    for (const bad of [-1, 1.5, 2 ** 31, NaN])
      assert.throws(
        () => decompressSlice(wire, bad),
        (e: unknown) => isCascadeError(e, 'ERR_INTERNAL'),
      );
  });

  test('a length other than the manifest says is ERR_SLICE_DECOMPRESS, whichever way it differs', () => {
    const src = texty(50_000, 4);
    const wire = compressSlice(src)!;
    assert.throws(() => decompressSlice(wire, src.length - 1), decompressFails);
    assert.throws(() => decompressSlice(wire, src.length + 1), decompressFails);
    assert.throws(() => decompressSlice(wire, 0), decompressFails);
  });

  test('truncated at every length: ERR_SLICE_DECOMPRESS, never a crash', () => {
    const src = texty(20_000, 5);
    const wire = compressSlice(src)!;
    for (let n = 0; n < wire.length; n++)
      assert.throws(() => decompressSlice(wire.subarray(0, n), src.length), decompressFails, `cut at ${n}`);
  });

  test('a flipped byte anywhere: ERR_SLICE_DECOMPRESS or exactly the image length, never a crash', () => {
    const src = texty(20_000, 6);
    const wire = compressSlice(src)!;
    let errors = 0;
    let wrongBytes = 0;
    for (let at = 0; at < wire.length; at++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bad = Uint8Array.from(wire);
        bad[at]! ^= mask;
        try {
          // zstd frames here carry no checksum: a flip in a literal can decode to other bytes of
          // the right length (some flips, in bits zstd ignores, give the slice itself back). The
          // slice's digest, verified next, always, is what catches those.
          const out = decompressSlice(bad, src.length);
          assert.equal(out.length, src.length);
          if (md5(out) !== md5(src)) wrongBytes++;
        } catch (err) {
          assert.ok(decompressFails(err), `flip at ${at}: ${String(err)}`);
          errors++;
        }
      }
    }
    assert.ok(
      errors > wire.length,
      `most flips are errors (${errors} of ${wire.length * 3}; ${wrongBytes} wrong bytes)`,
    );
    // The frame's magic and header are always caught.
    for (const at of [0, 1, 2, 3, 4]) {
      const bad = Uint8Array.from(wire);
      bad[at]! ^= 0xff;
      assert.throws(() => decompressSlice(bad, src.length), decompressFails, `header byte ${at}`);
    }
  });

  test('garbage and empty input: ERR_SLICE_DECOMPRESS', () => {
    for (let seed = 1; seed <= 50; seed++)
      assert.throws(() => decompressSlice(noise(1 + seed * 37, seed), 4096), decompressFails);
    assert.throws(() => decompressSlice(new Uint8Array(0), 4096), decompressFails);
    // A skippable frame alone holds no bytes.
    const skippable = Uint8Array.from([0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4]);
    assert.throws(() => decompressSlice(skippable, 4096), decompressFails);
  });

  test('a frame claiming a huge content size is refused without allocating it', () => {
    // Magic, then a header: single segment, 8-byte content size = 2^40, then a raw block of 4 bytes.
    const header = [0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0, 0, 1, 0, 0];
    const rawLast = [(4 << 3) | 1, 0, 0, 1, 2, 3, 4];
    const frame = Uint8Array.from([...header, ...rawLast]);
    const rss = process.memoryUsage().rss;
    for (let i = 0; i < 20; i++) assert.throws(() => decompressSlice(frame, 4 << 20), decompressFails);
    // And a frame of 64 MiB of zeros (a few KiB on the wire) into a 4 MiB slice.
    const bomb = compressSlice(new Uint8Array(64 << 20), 3)!;
    assert.ok(bomb.length < 64 * 1024);
    assert.throws(() => decompressSlice(bomb, 4 << 20), decompressFails);
    const grown = process.memoryUsage().rss - rss;
    assert.ok(grown < 96 << 20, `rss grew ${grown >> 20} MiB`);
  });

  test('two frames back to back decompress as one slice (zstd concatenation)', () => {
    const a = texty(30_000, 8);
    const b = texty(40_000, 9);
    const wire = Buffer.concat([compressSlice(a)!, compressSlice(b)!]);
    assert.equal(md5(decompressSlice(wire, 70_000)), md5(Buffer.concat([a, b])));
  });
});

describe('which zstd', () => {
  test("Node's own zstd when the runtime has it, else the WebAssembly build", () => {
    const hasNodeZstd = nodeZstdCodec() !== null;
    assert.equal(zstdCodec().name, hasNodeZstd && process.env['CASCADE_ZSTD'] !== 'wasm' ? 'node' : 'wasm');
    assert.equal(nodeZstdCodec({}), null, 'a zlib without zstd');
  });

  test('the Node codec bounds its output by the expected length (a zlib stand-in)', () => {
    const wasm = zstdWasmCodec(zstdWasmModule());
    const calls: number[] = [];
    const fakeZlib = {
      constants: { ZSTD_c_compressionLevel: 100 },
      zstdCompressSync: (src: Uint8Array, o: { params: Record<number, number> }) =>
        Buffer.from(wasm.compress(src, o.params[100]!)),
      zstdDecompressSync: (src: Uint8Array, o: { maxOutputLength: number }) => {
        calls.push(o.maxOutputLength);
        const out = new Uint8Array(o.maxOutputLength);
        return Buffer.from(out.subarray(0, wasm.decompressInto(src, out)));
      },
    };
    const node = nodeZstdCodec(fakeZlib)!;
    const src = texty(10_000, 10);
    const frame = node.compress(src, ZSTD_DEFAULT_LEVEL);
    const into = new Uint8Array(src.length);
    assert.equal(node.decompressInto(frame, into), src.length);
    assert.equal(md5(into), md5(src));
    assert.deepEqual(calls, [src.length + 1]);
    assert.throws(() => node.decompressInto(frame, new Uint8Array(src.length - 1)));
  });

  test('the WebAssembly codec reuses its memory: many slices do not grow it without bound', () => {
    const wasm = zstdWasmCodec(zstdWasmModule());
    const src = texty(4 << 20, 11);
    const frame = wasm.compress(src, 3);
    const into = new Uint8Array(src.length);
    const rss = process.memoryUsage().rss;
    for (let i = 0; i < 40; i++) wasm.decompressInto(frame, into);
    assert.ok(process.memoryUsage().rss - rss < 64 << 20);
    assert.equal(md5(into), md5(src));
  });
});
