import { readFileSync } from 'node:fs';

/**
 * The version of @cascade/cli: from its package.json next to dist/, or, in the one-file bundle,
 * the value scripts/bundle.mjs wrote in at build time (esbuild `define`).
 */
export function cascadeVersion(): string {
  const bundled = process.env.CASCADE_BUNDLED_VERSION;
  if (bundled) return bundled;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
