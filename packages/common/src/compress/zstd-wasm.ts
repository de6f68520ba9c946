/**
 * zstd in WebAssembly, run synchronously: the module of @bokuweb/zstd-wasm (zstd 1.5, MIT), with
 * glue of our own instead of the package's Emscripten loader, which instantiates asynchronously
 * and reads its file at run time. Here a compiled module is instantiated on the spot, so the codec
 * works on the main thread, in worker threads, and in the one-file bundle (the module's bytes are
 * written into it, zstd-wasm-module.ts).
 *
 * `zstdWasmCodec()` is self-contained (it uses nothing from outside its own body): a hashing
 * thread evaluates its source text, as it does md5-lanes.ts's hasher.
 *
 * The package's exports are minified to letters; the map below is that of the exact version the
 * package.json pins (0.0.27). The codec round-trips a few bytes when it starts, so another build
 * fails there, loudly, never later on a slice.
 */

import type { WasmModule } from '../webassembly.js';

/** A zstd compressor and decompressor working on whole buffers. */
export interface ZstdCodec {
  /** Which implementation this is (benchmarks, logs). */
  readonly name: string;
  /** One zstd frame of `src` at `level` (throws on a zstd error). */
  compress(src: Uint8Array, level: number): Uint8Array;
  /**
   * `src` (one or more frames) decompressed into `into`, which must be exactly the expected size;
   * returns how many bytes were written. Never writes past `into`: a frame that holds more fails
   * (throws), whatever its header claims.
   */
  decompressInto(src: Uint8Array, into: Uint8Array): number;
}

/** A codec over an instance of the zstd module (WebAssembly.Module of @bokuweb/zstd-wasm 0.0.27). */
export function zstdWasmCodec(module: WasmModule): ZstdCodec {
  let memory: WebAssembly.Memory | null = null;
  const fail = (what: string): never => {
    throw new Error(`zstd wasm: ${what}`);
  };
  // Emscripten's imports, by their minified names: proc_exit, keepalive_clear, abort, setitimer,
  // resize_heap (grow the memory to at least `requested` bytes; false when it cannot).
  const imports = {
    a: {
      a: (code: number) => fail(`exit(${code})`),
      b: () => undefined,
      c: () => fail('abort'),
      d: () => 0,
      e: (requested: number) => {
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
    },
  };
  const inst = new WebAssembly.Instance(module, imports);
  const x = inst.exports as Record<string, (...args: number[]) => number>;
  memory = inst.exports['f'] as WebAssembly.Memory;
  (x['g'] as () => void)(); // constructors
  const isError = x['h'] as (code: number) => number;
  const bound = x['i'] as (n: number) => number;
  const cctx = (x['j'] as () => number)();
  const compressCtx = x['l'] as (...a: number[]) => number; // ZSTD_compress_usingDict
  const dctx = (x['n'] as () => number)();
  const decompressCtx = x['q'] as (...a: number[]) => number; // ZSTD_decompress_usingDict
  const malloc = x['s'] as (n: number) => number;
  const free = x['t'] as (p: number) => void;
  if (!cctx || !dctx) fail('no context');
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
  const heap = () => new Uint8Array(memory.buffer);
  const check = (result: number, what: string): number => {
    if (isError(result)) fail(`${what} failed (zstd error ${-(result | 0)})`);
    return result >>> 0;
  };
  const codec: ZstdCodec = {
    name: 'wasm',
    compress(src, level) {
      const cap = bound(src.length) >>> 0;
      const s = room(src.length, 'in');
      const d = room(cap, 'out');
      heap().set(src, s);
      const n = check(compressCtx(cctx, d, cap, s, src.length, 0, 0, level), 'compress');
      return heap().slice(d, d + n);
    },
    decompressInto(src, into) {
      const s = room(src.length, 'in');
      const d = room(into.length, 'out');
      heap().set(src, s);
      const n = check(decompressCtx(dctx, d, into.length, s, src.length, 0, 0), 'decompress');
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
