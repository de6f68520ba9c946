import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { BUG_EXIT_CODE, CASCADE_BIN } from '@cascade/cli';
import { assertNoCrashes, crashes, guardEnv } from './crash-guard.js';
import { tempDir } from './helpers.js';

// The guard that every e2e role process runs with (test/crash-guard-preload.mjs), checked on
// tiny scripts with a crash log of their own (the file-level one must stay empty), and the
// `cascade` bin's last-resort handler.

const dir = await tempDir('crash-guard');
const LAST_RESORT = pathToFileURL(join(CASCADE_BIN, '..', 'last-resort.js')).href;

interface Run {
  code: number | null;
  stderr: string;
}

/** Run `node script.mjs` with the guard on, writing to its own crash log. */
async function runScript(name: string, source: string): Promise<Run & { log: string }> {
  const script = join(dir, `${name}.mjs`);
  const log = join(dir, `${name}.crash.log`);
  await writeFile(script, source);
  const p = spawn(process.execPath, [script], { stdio: ['ignore', 'ignore', 'pipe'], env: guardEnv(process.env, log) });
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
  clearTimeout(timer);
  return { code, stderr, log };
}

describe('crash guard (preload in every role process the e2e tests start)', () => {
  test('records an unhandled rejection with its stack, and the process still dies of it', async () => {
    const r = await runScript('rejection', `Promise.reject(new Error('boom-rejected'));\n`);
    assert.notEqual(r.code, 0, 'the default behaviour (exit on an unhandled rejection) is kept');
    const found = crashes(r.log);
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.equal(found[0]?.kind, 'unhandledRejection');
    assert.match(found[0]?.detail ?? '', /boom-rejected\n\s+at /);
    assert.throws(() => assertNoCrashes(r.log), /1 uncaught exception.*\n[\s\S]*boom-rejected/);
  });

  test('records an uncaught exception thrown from a timer', async () => {
    const r = await runScript('exception', `setTimeout(() => { throw new TypeError('boom-thrown'); }, 10);\n`);
    assert.equal(r.code, 1);
    const found = crashes(r.log);
    assert.deepEqual(
      found.map((c) => c.kind),
      ['uncaughtException'],
    );
    assert.match(found[0]?.detail ?? '', /TypeError: boom-thrown/);
  });

  test('records nothing for a process that handles its errors', async () => {
    const r = await runScript('clean', `await Promise.reject(new Error('caught')).catch(() => undefined);\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(crashes(r.log), []);
    assert.doesNotThrow(() => assertNoCrashes(r.log));
  });

  test(`the cascade last-resort handler logs fatal with the stack, says it is a bug, exits ${BUG_EXIT_CODE}; the guard still sees it`, async () => {
    const r = await runScript(
      'last-resort',
      [
        `import { installLastResortHandlers } from '${LAST_RESORT}';`,
        `installLastResortHandlers(['node', 'cascade', '--log-format', 'json']);`,
        `Promise.reject(new Error('boom-in-role'));`,
        '',
      ].join('\n'),
    );
    assert.equal(r.code, BUG_EXIT_CODE, r.stderr);
    const lines = r.stderr.trim().split('\n');
    const fatal = JSON.parse(lines[0] ?? '{}') as { level?: number; err?: { stack?: string }; kind?: string };
    assert.equal(fatal.level, 60, 'pino fatal');
    assert.equal(fatal.kind, 'unhandledRejection');
    assert.match(fatal.err?.stack ?? '', /boom-in-role\n\s+at /);
    assert.match(
      lines.at(-1) ?? '',
      /^cascade: internal error \(unhandledRejection\); this is a bug, please report it/,
    );
    assert.equal(lines.length, 2, 'one log line and one sentence');
    assert.deepEqual(
      crashes(r.log).map((c) => c.kind),
      ['unhandledRejection'],
    );
  });
});
