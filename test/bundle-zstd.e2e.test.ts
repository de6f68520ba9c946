import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { tempDir } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '..');
const run = promisify(execFile);

// A tiny entry point bundled exactly as cascade.mjs is (scripts/bundle.mjs), then run from a
// folder with no node_modules above it: zstd's WebAssembly module must be inside the one file.
const ENTRY = (common: string): string => `
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { CompressPool, compressSlice, decompressSlice, zstdCodec, ZSTD_THREAD_SOURCE, zstdThreadData } from ${JSON.stringify(common)};
const md5 = (b) => createHash('md5').update(b).digest('hex');
const src = new Uint8Array(4 << 20).map((_, i) => (i % 4096 < 1024 ? (i * 2654435761) >>> 24 : 0));
const wire = compressSlice(src, 3);
const out = { codec: zstdCodec().name, wire: wire.length, same: md5(decompressSlice(wire, src.length)) === md5(src) };
try { decompressSlice(wire.subarray(0, 100), src.length); } catch (err) { out.corrupt = err.code; }
const source = ZSTD_THREAD_SOURCE + "require('node:worker_threads').parentPort.on('message', (m) => require('node:worker_threads').parentPort.postMessage(decompressAndHash('md5', m.wire, m.length).hex));";
const w = new Worker(source, { eval: true, workerData: zstdThreadData() });
w.postMessage({ wire, length: src.length });
w.once('message', async (hex) => {
  out.thread = hex === md5(src);
  const pool = new CompressPool(2);
  const pooled = await pool.compress(src, 3);
  out.pool = pooled !== null && pooled.length < src.length && md5(decompressSlice(pooled, src.length)) === md5(src);
  await pool.close();
  console.log(JSON.stringify(out));
  void w.terminate();
});
`;

describe('zstd in the one-file bundle', () => {
  test('compresses (here and on the compressing threads), decompresses and verifies on a hashing thread with no node_modules in reach', async () => {
    const dir = await tempDir('bundle-zstd');
    const entry = join(dir, 'entry.mjs');
    const bundle = join(dir, 'zstd.mjs');
    await writeFile(entry, ENTRY(join(ROOT, 'packages/common/dist/index.js')));
    await run(process.execPath, [join(ROOT, 'scripts/bundle.mjs'), '--entry', entry, '--outfile', bundle], {
      timeout: 120_000,
    });
    assert.doesNotMatch(await readFile(bundle, 'utf8'), /wasm-zstd\.wasm['"]/, 'no path to the module file left');
    for (let d = dir; d !== '/'; d = resolve(d, '..'))
      await assert.rejects(stat(join(d, 'node_modules')), `found ${join(d, 'node_modules')}`);
    const { stdout } = await run(process.execPath, [bundle], {
      cwd: dir,
      env: { ...process.env, CASCADE_ZSTD: 'wasm' },
    });
    const got = JSON.parse(stdout) as { wire: number };
    assert.deepEqual(got, {
      codec: 'wasm',
      wire: got.wire,
      same: true,
      corrupt: 'ERR_SLICE_DECOMPRESS',
      thread: true,
      pool: true,
    });
    assert.ok(got.wire < 2 << 20, `${got.wire} bytes on the wire`);
  });
});
