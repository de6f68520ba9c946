/** The compiled WebAssembly zstd module, kept apart so the package's public types never name it. */

import type { WasmModule } from '../webassembly.js';
import { zstdWasmBytes } from './zstd-wasm-bytes.js';

let wasmModule: WasmModule | undefined;

/** The compiled module (compiled once; it can be posted to worker threads). */
export function zstdWasmModule(): WasmModule {
  wasmModule ??= new WebAssembly.Module(zstdWasmBytes());
  return wasmModule;
}
