/**
 * zstd in WebAssembly, run synchronously: the module of @foxglove/wasm-zstd (zstd 1.5, MIT), with
 * glue of our own instead of the package's Emscripten loader, which instantiates asynchronously
 * and reads its file at run time. Here a compiled module is instantiated on the spot, so the codec
 * works on the main thread, in worker threads, and in the one-file bundle (the module's bytes are
 * written into it, scripts/bundle.mjs). Chosen by measurement over @bokuweb/zstd-wasm and others:
 * it decompresses about 1.6× as fast per core (BENCHMARKS.md, "zstd: level and library").
 *
 * `zstdWasmCodec()` is self-contained (it uses nothing from outside its own body): a hashing
 * thread evaluates its source text, as it does md5-lanes.ts's hasher.
 *
 * The package's exports are minified to letters; the map below is that of the exact version the
 * package.json pins (1.0.1). The codec round-trips a few bytes when it starts, so another build
 * fails there, loudly, never later on a slice.
 */

import type { WasmModule } from '../webassembly.js';
import type { ZstdCodec } from './zstd-codec.js';

/** A codec over an instance of the zstd module (WebAssembly.Module of @foxglove/wasm-zstd 1.0.1). */
export function zstdWasmCodec(module: WasmModule): ZstdCodec {
  let memory: WebAssembly.Memory | null = null;
  const fail = (what: string): never => {
    throw new Error(`zstd wasm: ${what}`);
  };
  const heap = () => new Uint8Array((memory as WebAssembly.Memory).buffer);
  // Emscripten's imports, by their minified names: resize_heap (grow the memory to at least
  // `requested` bytes; 0 when it cannot) and memcpy_big.
  const imports = {
    a: {
      a: (requested: number) => {
        const mem = memory as WebAssembly.Memory & { grow(pages: number): number };
        const want = requested >>> 0;
        const have = mem.buffer.byteLength;
        if (want <= have) return 1;
        try {
          mem.grow(Math.ceil((want - have) / 65536));
          return 1;
        } catch {
          return 0;
        }
      },
      b: (dest: number, src: number, n: number) => {
        heap().copyWithin(dest, src, src + n);
      },
    },
  };
  const inst = new WebAssembly.Instance(module, imports);
  const x = inst.exports as Record<string, (...args: number[]) => number>;
  memory = inst.exports['c'] as WebAssembly.Memory;
  (x['d'] as () => void)(); // constructors
  const malloc = x['f'] as (n: number) => number;
  const free = x['g'] as (p: number) => void;
  const bound = x['h'] as (n: number) => number;
  const compress = x['i'] as (dst: number, cap: number, src: number, n: number, level: number) => number;
  // ZSTD_decompress: never writes past `cap`; a negative result is an error.
  const decompress = x['j'] as (dst: number, cap: number, src: number, n: number) => number;

  // Two buffers in the module's memory, grown to the largest call seen (never shrunk).
  let inPtr = 0;
  let inCap = 0;
  let outPtr = 0;
  let outCap = 0;
  const room = (need: number, which: 'in' | 'out'): number => {
    const cap = which === 'in' ? inCap : outCap;
    if (need <= cap && cap > 0) return which === 'in' ? inPtr : outPtr;
    const size = Math.max(need, 64);
    const p = malloc(size);
    if (!p) fail(`out of memory for ${size} bytes`);
    if (which === 'in') {
      if (inPtr) free(inPtr);
      [inPtr, inCap] = [p, size];
    } else {
      if (outPtr) free(outPtr);
      [outPtr, outCap] = [p, size];
    }
    return p;
  };
  const check = (result: number, what: string): number => {
    if ((result | 0) < 0) fail(`${what} failed`);
    return result;
  };
  const codec: ZstdCodec = {
    name: 'wasm',
    compress(src, level) {
      const cap = bound(src.length) >>> 0;
      const s = room(src.length, 'in');
      const d = room(cap, 'out');
      heap().set(src, s);
      const n = check(compress(d, cap, s, src.length, level), 'compress');
      return heap().slice(d, d + n);
    },
    decompressInto(src, into) {
      const s = room(src.length, 'in');
      const d = room(into.length, 'out');
      heap().set(src, s);
      const n = check(decompress(d, into.length, s, src.length), 'decompress');
      if (n > into.length) fail('wrote past its buffer');
      into.set(heap().subarray(d, d + n));
      return n;
    },
  };
  // The self-test: the export map is this build's.
  const probe = new Uint8Array(300).map((_, i) => i % 7);
  const back = new Uint8Array(probe.length);
  if (codec.decompressInto(codec.compress(probe, 3), back) !== probe.length || back.some((b, i) => b !== probe[i]))
    fail('self-test failed: not the zstd build this code was written for');
  return codec;
}
