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

/** The module's exports cascade uses, over its memory (whose buffer changes when it grows). */
export interface ZstdWasmExports {
  heap(): Uint8Array;
  malloc(n: number): number;
  free(p: number): void;
  bound(n: number): number;
  compress(dst: number, cap: number, src: number, n: number, level: number): number;
  /** ZSTD_decompress: never writes past `cap`; a negative result is an error. */
  decompress(dst: number, cap: number, src: number, n: number): number;
}

/**
 * An instance of the zstd module (WebAssembly.Module of @foxglove/wasm-zstd 1.0.1), with its two
 * Emscripten imports by their minified names: resize_heap (grow the memory to at least
 * `requested` bytes; 0 when it cannot) and memcpy_big. Self-contained, as zstdWasmCodec.
 */
export function zstdWasmInstance(module: WasmModule): ZstdWasmExports {
  let memory: WebAssembly.Memory | null = null;
  const heap = () => new Uint8Array((memory as WebAssembly.Memory).buffer);
  const grow = (requested: number) => {
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
  };
  const memcpy = (dest: number, src: number, n: number) => {
    heap().copyWithin(dest, src, src + n);
  };
  const inst = new WebAssembly.Instance(module, { a: { a: grow, b: memcpy } });
  const x = inst.exports as Record<string, (...args: number[]) => number>;
  memory = inst.exports['c'] as WebAssembly.Memory;
  (x['d'] as () => void)(); // constructors
  return {
    heap,
    malloc: x['f'] as (n: number) => number,
    free: x['g'] as (p: number) => void,
    bound: x['h'] as (n: number) => number,
    compress: x['i'] as ZstdWasmExports['compress'],
    decompress: x['j'] as ZstdWasmExports['decompress'],
  };
}

/**
 * A codec over an instance of the zstd module. Self-contained but for zstdWasmInstance (a thread
 * evaluating its source text defines both).
 */
export function zstdWasmCodec(module: WasmModule): ZstdCodec {
  const z = zstdWasmInstance(module);
  const fail = (what: string): never => {
    throw new Error(`zstd wasm: ${what}`);
  };
  // Two buffers in the module's memory (0: input, 1: output), grown to the largest call seen.
  const ptr = [0, 0];
  const cap = [0, 0];
  const room = (need: number, which: 0 | 1): number => {
    if (need <= cap[which]! && cap[which]! > 0) return ptr[which]!;
    const size = Math.max(need, 64);
    const p = z.malloc(size);
    if (!p) fail(`out of memory for ${size} bytes`);
    if (ptr[which]) z.free(ptr[which]);
    [ptr[which], cap[which]] = [p, size];
    return p;
  };
  const check = (result: number, what: string): number => ((result | 0) < 0 ? fail(`${what} failed`) : result);
  const codec: ZstdCodec = {
    name: 'wasm',
    compress(src, level) {
      const bound = z.bound(src.length) >>> 0;
      const s = room(src.length, 0);
      const d = room(bound, 1);
      z.heap().set(src, s);
      const n = check(z.compress(d, bound, s, src.length, level), 'compress');
      return z.heap().slice(d, d + n);
    },
    decompressInto(src, into) {
      const s = room(src.length, 0);
      const d = room(into.length, 1);
      z.heap().set(src, s);
      const n = check(z.decompress(d, into.length, s, src.length), 'decompress');
      if (n > into.length) fail('wrote past its buffer');
      into.set(z.heap().subarray(d, d + n));
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
