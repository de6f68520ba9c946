/**
 * Which zstd this process uses: Node's own (zlib, Node ≥ 22.15) when the runtime has it, else the
 * WebAssembly build (zstd-wasm.ts). Chosen once, on first use; `CASCADE_ZSTD=wasm` forces the
 * WebAssembly build (tests, benchmarks).
 */

import * as zlib from 'node:zlib';
import type { WasmModule } from '../webassembly.js';
import { zstdWasmBytes } from './zstd-wasm-bytes.js';
import { zstdWasmCodec, type ZstdCodec } from './zstd-wasm.js';

/** The part of Node's zlib that has zstd (Node ≥ 22.15; @types/node 20 does not declare it). */
export interface ZlibWithZstd {
  zstdCompressSync(src: Uint8Array, options: { params: Record<number, number> }): Buffer;
  zstdDecompressSync(src: Uint8Array, options: { maxOutputLength: number }): Buffer;
  constants: { ZSTD_c_compressionLevel: number };
}

/** Node's own zstd, or null where this runtime has none. */
export function nodeZstdCodec(z: unknown = zlib): ZstdCodec | null {
  const lib = z as Partial<ZlibWithZstd>;
  if (typeof lib.zstdDecompressSync !== 'function' || typeof lib.zstdCompressSync !== 'function') return null;
  const zl = lib as ZlibWithZstd;
  const levelParam = zl.constants.ZSTD_c_compressionLevel;
  return {
    name: 'node',
    compress: (src, level) => zl.zstdCompressSync(src, { params: { [levelParam]: level } }),
    decompressInto(src, into) {
      // maxOutputLength bounds what it allocates; one byte more than wanted tells "too long".
      const out = zl.zstdDecompressSync(src, { maxOutputLength: into.length + 1 });
      if (out.length > into.length) throw new Error('zstd: the frame holds more than expected');
      into.set(out);
      return out.length;
    },
  };
}

let wasmModule: WasmModule | undefined;

/** The compiled WebAssembly zstd module (compiled once; can be posted to worker threads). */
export function zstdWasmModule(): WasmModule {
  wasmModule ??= new WebAssembly.Module(zstdWasmBytes());
  return wasmModule;
}

let codec: ZstdCodec | undefined;

/** This process's zstd codec (Node's own when it has one). */
export function zstdCodec(): ZstdCodec {
  codec ??= (process.env['CASCADE_ZSTD'] === 'wasm' ? null : nodeZstdCodec()) ?? zstdWasmCodec(zstdWasmModule());
  return codec;
}
