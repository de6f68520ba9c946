import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import yargs from 'yargs';
import { skipHelpCache } from '../src/help-cache.js';

const BIN = new URL('../dist/bin.js', import.meta.url).pathname;

/** Module hooks that print every module loaded through import (ES modules, CommonJS entries). */
const HOOKS = `data:text/javascript,${encodeURIComponent(
  'export async function load(url, context, next) { process.stderr.write(`LOADED ${url}\\n`); return next(url, context); }',
)}`;
const REGISTER = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module'; register(${JSON.stringify(HOOKS)});`,
)}`;

/** Run the built `cascade` with CASCADE_* cleared; the URLs of the modules it imported. */
function modulesLoaded(args: string[]): Promise<{ code: number; urls: string[]; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CASCADE_')));
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', REGISTER, BIN, ...args], { env, timeout: 30_000 }, (err, _out, stderr) => {
      const urls = stderr.split('\n').flatMap((l) => (l.startsWith('LOADED ') ? [l.slice(7)] : []));
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, urls, stderr });
    });
  });
}

describe('startup: a command loads what it runs, and only that', () => {
  test('cascade seed loads the seeder, not the coordinator, the peer, the console, pino-pretty, cli-progress or ws via ESM', async () => {
    // An image that cannot be read: the seeder's handler runs (and fails) before any connection.
    const args = ['seed', '/nonexistent/image.img', '--coordinator', 'ws://127.0.0.1:9', '--session', 's'];
    const r = await modulesLoaded([...args, '--log-format', 'json']);
    assert.notEqual(r.code, 0, r.stderr);
    assert.ok(r.urls.length > 50, `the hooks saw too few modules: ${r.stderr.slice(0, 500)}`);
    assert.ok(
      r.urls.some((u) => u.includes('/packages/seeder/dist/')),
      'the seeder package is loaded (the handler ran)',
    );
    const unwanted = [
      '/packages/peer/',
      '/packages/coordinator/dist/index.js',
      '/packages/cli/dist/console/',
      '/packages/cli/dist/demo/',
      '/node_modules/log-update/',
      '/node_modules/pino-pretty/',
      '/node_modules/cli-progress/',
      '/node_modules/prom-client/',
      '/node_modules/ws/wrapper.mjs',
    ];
    for (const u of unwanted) {
      assert.deepEqual(
        r.urls.filter((x) => x.includes(u)),
        [],
        `cascade seed loaded ${u}`,
      );
    }
  });

  test('--log-format pretty loads pino-pretty', async () => {
    const r = await modulesLoaded([
      'seed',
      '/nonexistent/image.img',
      '--coordinator',
      'ws://127.0.0.1:9',
      '--session',
      's',
      '--log-format',
      'pretty',
    ]);
    assert.notEqual(r.code, 0, r.stderr);
    assert.ok(r.urls.some((u) => u.includes('/node_modules/pino-pretty/')));
  });
});

describe('skipHelpCache', () => {
  const run = async (skip: boolean): Promise<boolean> => {
    const cli = yargs(['go']).command(
      'go',
      'a command',
      (y) => y,
      () => undefined,
    );
    if (skip) skipHelpCache(cli);
    await cli.parseAsync();
    const internals = cli as unknown as {
      getInternalMethods(): { getUsageInstance(): { hasCachedHelpMessage(): boolean } };
    };
    return internals.getInternalMethods().getUsageInstance().hasCachedHelpMessage();
  };

  test('yargs renders a help text when a command runs; after skipHelpCache it does not', async () => {
    // The first assertion is why skipHelpCache exists: if a yargs release stops rendering the
    // text, or renames what skipHelpCache replaces, this test says so.
    assert.equal(await run(false), true);
    assert.equal(await run(true), false);
  });
});
