/**
 * Decompression on the hashing threads. DigestPool's threads run a program given as source text
 * (digest-worker.ts), so they cannot import this package: they get zstd the way they get the MD5
 * lanes — the compiled module in `workerData` (`zstdThreadData()`), and the codec's source text
 * (`ZSTD_THREAD_SOURCE`), which defines `decompressAndHash(algorithm, wire, imageLength)` there.
 * On the main thread or in a module worker, `decompressAndDigest()` does the same with imports.
 *
 * @example
 * ```ts
 * const source = `${ZSTD_THREAD_SOURCE}
 * require('node:worker_threads').parentPort.on('message', (m) => …decompressAndHash('md5', m.wire, m.length)…);`;
 * new Worker(source, { eval: true, workerData: zstdThreadData() });
 * ```
 */

import { sliceDigest, type DigestAlgorithm } from '../manifest/digest.js';
import { decompressSlice } from './slice-compression.js';
import { zstdWasmModule } from './zstd-wasm-module.js';
import { zstdWasmCodec, zstdWasmInstance } from './zstd-wasm.js';

/** A slice's image bytes and their digest, from its wire bytes. */
export interface DecompressedSlice {
  bytes: Uint8Array;
  hex: string;
}

/**
 * Decompress a compressed slice and digest its image bytes (what a receiver does with every
 * compressed slice before it writes or serves it). Throws ERR_SLICE_DECOMPRESS as decompressSlice.
 */
export function decompressAndDigest(
  algorithm: DigestAlgorithm,
  wire: Uint8Array,
  imageLength: number,
  into?: Uint8Array,
): DecompressedSlice {
  const bytes = decompressSlice(wire, imageLength, into);
  return { bytes, hex: sliceDigest(algorithm, [Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)]) };
}

/** What a thread running ZSTD_THREAD_SOURCE needs in its workerData (merge it with the rest). */
export function zstdThreadData(): { zstdWasm: unknown } {
  return { zstdWasm: zstdWasmModule() };
}

/**
 * Source text for a thread started with `eval: true` and zstdThreadData() in its workerData: it
 * defines `zstd` (Node's own zstd when the thread's runtime has it, else the WebAssembly codec)
 * and `decompressAndHash(algorithm, wire, imageLength)`, which returns `{ bytes, hex }` or
 * `{ error }` (a corrupt slice; the caller raises ERR_SLICE_DECOMPRESS), and
 * `compressHere(src, level)`, which returns `{ wire }` (one zstd frame), `{ raw: true }` (it would
 * not shrink: send it raw, as compressSlice's null) or `{ error }` — neither ever throws.
 */
export const ZSTD_THREAD_SOURCE = `
var __name = (f) => f;
const zstd = (() => {
  const zlib = require('node:zlib');
  if (typeof zlib.zstdDecompressSync === 'function')
    return {
      compress(src, level) {
        return zlib.zstdCompressSync(src, { params: { [zlib.constants.ZSTD_c_compressionLevel]: level } });
      },
      decompressInto(src, into) {
        const out = zlib.zstdDecompressSync(src, { maxOutputLength: into.length + 1 });
        if (out.length > into.length) throw new Error('zstd: the frame holds more than expected');
        into.set(out);
        return out.length;
      },
    };
  ${zstdWasmInstance.toString()}
  return (${zstdWasmCodec.toString()})(require('node:worker_threads').workerData.zstdWasm);
})();
function compressHere(src, level) {
  try {
    if (src.length === 0) return { raw: true };
    const out = zstd.compress(src, level);
    return out.length < src.length ? { wire: out } : { raw: true };
  } catch (err) {
    return { error: String((err && err.message) || err) };
  }
}
function decompressAndHash(algorithm, wire, imageLength) {
  try {
    const bytes = new Uint8Array(imageLength);
    const n = zstd.decompressInto(wire, bytes);
    if (n !== imageLength) return { error: 'a compressed slice holds ' + n + ' bytes, the manifest says ' + imageLength };
    const hex = require('node:crypto').createHash(algorithm).update(bytes).digest('hex');
    return { bytes, hex };
  } catch (err) {
    return { error: String((err && err.message) || err) };
  }
}
`;
