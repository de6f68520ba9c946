#!/usr/bin/env node
// One-file bundle for boot media: every role in a single ES module that runs with plain `node`,
// no node_modules. Usage: node scripts/bundle.mjs [--outfile dist/cascade.mjs] (after `npm run build`).
// `--entry FILE` bundles another entry point the same way (tests of what the bundle carries).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(resolve(root, 'packages/cli/package.json'), 'utf8'));
const i = process.argv.indexOf('--outfile');
const outfile = resolve(i > 0 && process.argv[i + 1] ? process.argv[i + 1] : resolve(root, 'dist/cascade.mjs'));
const e = process.argv.indexOf('--entry');
const entry = resolve(e > 0 && process.argv[e + 1] ? process.argv[e + 1] : resolve(root, 'packages/cli/dist/bin.js'));

// zstd's WebAssembly module is written into the bundle: the file that reads it from node_modules
// (packages/common/src/compress/zstd-wasm-bytes.ts) is replaced by one that holds its bytes.
const zstdWasm = join(
  dirname(createRequire(resolve(root, 'packages/common/package.json')).resolve('@foxglove/wasm-zstd')),
  'wasm-zstd.wasm',
);
const inlineZstdWasm = {
  name: 'inline-zstd-wasm',
  setup(b) {
    b.onLoad({ filter: /compress[\\/]zstd-wasm-bytes\.js$/ }, () => ({
      contents: `import bytes from ${JSON.stringify(zstdWasm)};\nexport function zstdWasmBytes() { return bytes; }\n`,
      loader: 'js',
      resolveDir: root,
    }));
  },
};

const result = await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: false,
  legalComments: 'none',
  metafile: true,
  plugins: [inlineZstdWasm],
  loader: { '.wasm': 'binary' },
  // CommonJS dependencies (pino, msgpack-lite, ws) call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __cascadeCreateRequire } from 'node:module'; const require = __cascadeCreateRequire(import.meta.url);",
  },
  // ws loads these native speed-ups in a try/catch when installed; without them it uses pure JS.
  external: ['bufferutil', 'utf-8-validate'],
  // The demo harness spawns roles from "the cascade entry point": in the bundle, that is itself.
  // `cascade --version` has no package.json to read there: the version is written in.
  define: {
    'process.env.CASCADE_BUNDLED': '"1"',
    'process.env.CASCADE_BUNDLED_VERSION': JSON.stringify(version),
  },
  logLevel: 'warning',
});
const bytes = Object.values(result.metafile.outputs).reduce((a, o) => a + o.bytes, 0);
process.stdout.write(`bundled ${outfile} (${(bytes / 1024 / 1024).toFixed(2)} MiB)\n`);
