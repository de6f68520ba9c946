import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { isCascadeError } from '../src/errors.js';
import { compressSlice } from '../src/compress/slice-compression.js';
import { decompressAndDigest, ZSTD_THREAD_SOURCE, zstdThreadData } from '../src/compress/zstd-thread.js';
import { noise } from './fixtures.js';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
/** Half noise, half zeros: compresses to about half. */
const slice = (length: number, seed: number): Buffer =>
  Buffer.concat([noise(length / 2, seed), Buffer.alloc(length - length / 2)]);

/** Run `source` (CommonJS, eval) on a thread; resolve with its first message. */
function onThread(source: string, workerData: unknown, message: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const w = new Worker(source, { eval: true, workerData });
    w.once('message', (m) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
    w.postMessage(message);
  });
}

describe('decompression where slices are hashed', () => {
  const src = slice(4 << 20, 1);
  const wire = compressSlice(src)!;

  test('decompressAndDigest: image bytes and their digest; a corrupt slice is ERR_SLICE_DECOMPRESS', () => {
    const { bytes, hex } = decompressAndDigest('md5', wire, src.length);
    assert.equal(hex, md5(src));
    assert.equal(md5(bytes), hex);
    assert.equal(decompressAndDigest('sha256', wire, src.length).hex, createHash('sha256').update(src).digest('hex'));
    assert.throws(
      () => decompressAndDigest('md5', wire.subarray(0, wire.length - 1), src.length),
      (e: unknown) => isCascadeError(e, 'ERR_SLICE_DECOMPRESS'),
    );
  });

  test('on a hashing thread run from source text (as DigestPool runs its threads)', async () => {
    const source = `${ZSTD_THREAD_SOURCE}
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => {
  const r = m.map((j) => decompressAndHash('md5', j.wire, j.length));
  parentPort.postMessage(r.map((x) => x.error ? { error: x.error } : { hex: x.hex, length: x.bytes.length }));
});`;
    const bad = Uint8Array.from(wire);
    bad[0]! ^= 0xff;
    const jobs = [
      { wire, length: src.length },
      { wire: bad, length: src.length },
      { wire: wire.subarray(0, 1000), length: src.length },
      { wire, length: src.length - 1 },
    ];
    const r = (await onThread(source, zstdThreadData(), jobs)) as { hex?: string; length?: number; error?: string }[];
    assert.deepEqual(r[0], { hex: md5(src), length: src.length });
    for (const x of r.slice(1)) assert.match(x.error ?? '', /zstd|bytes/, JSON.stringify(x));
  });

  test('in a module worker through the package itself (decompressSlice on another thread)', async () => {
    const dist = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;
    const source = `
const { parentPort } = require('node:worker_threads');
import(${JSON.stringify(dist)}).then((c) => {
  parentPort.on('message', (m) => {
    let out;
    try { out = { hex: c.decompressAndDigest('md5', m.wire, m.length).hex }; }
    catch (err) { out = { code: err.code }; }
    parentPort.postMessage(out);
  });
});`;
    assert.deepEqual(await onThread(source, null, { wire, length: src.length }), { hex: md5(src) });
    assert.deepEqual(await onThread(source, null, { wire: noise(500, 2), length: src.length }), {
      code: 'ERR_SLICE_DECOMPRESS',
    });
  });
});
