#!/usr/bin/env node
// The `cascade` command as npm links it. This small file is committed (not built) so that
// `npm ci` can link it in a fresh clone; it runs the built CLI in ../dist, and if that is
// missing it says what to run instead of failing with a module-not-found stack.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  process.stderr.write(`cascade: not built yet: run "npm run build" in ${root}\n`);
  process.exit(1);
}
await import(entry.href);
