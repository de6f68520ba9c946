/**
 * The bytes of @bokuweb/zstd-wasm's module, read from the installed package. The one-file bundle
 * replaces this file with one that holds the bytes themselves (scripts/bundle.mjs), so the bundle
 * needs no file beside it. Keep the export's name and signature in step with that replacement.
 */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The module's bytes (its package exports only its entry point: the module lies beside it). */
export function zstdWasmBytes(): Uint8Array {
  const entry = createRequire(import.meta.url).resolve('@bokuweb/zstd-wasm');
  return readFileSync(join(dirname(entry), 'zstd.wasm'));
}
