import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { exitWithin, spawnRole, startCoordinator, writeImage, type RoleProcess } from '@cascade/cli';
import { peerArgs, runCascade, tempDir } from './helpers.js';
import { exists, httpStatus, waitFor, keep, killAfter } from './lab-helpers.js';

/**
 * Issue #13, problem 7 on loopback (127.0.65.x): hooks that fit boot media.
 *
 * Behaviour assumed: `--on-complete CMD` (`cascade.on-complete`, CASCADE_ON_COMPLETE) runs only
 * when the machine is imaged (CASCADE_RESULT=imaged); `--on-failure CMD` (`cascade.on-failure`,
 * CASCADE_ON_FAILURE) runs on every other end — target unusable (exit 3, CASCADE_RESULT=failed),
 * session ended first (exit 5, CASCADE_RESULT=incomplete), discovery failed (exit 1; netns file) —
 * with the same CASCADE_* variables (CASCADE_ERROR_CODE set). The peer's exit code is its own.
 * The runner is packages/peer/src/machine/finish-hooks.ts (hookFor / runFinishHook).
 */
const dir = await tempDir('lab-hooks');
let coordinator: RoleProcess & { url: string };
let image: string;
const roles: RoleProcess[] = [];

before(async () => {
  coordinator = await startCoordinator(dir, '127.0.65.1');
  image = join(dir, 'img.bin');
  await writeImage(image, { size: 1024 * 1024 + 7, seed: 'hooks' });
});
killAfter(() => [...roles, coordinator]);

const role = (name: string, args: string[]): RoleProcess => keep(roles, spawnRole(name, args, dir));

/** Both hooks, each writing `RESULT ERROR_CODE` to NAME.complete / NAME.failure. */
function hooks(name: string): string[] {
  const write = (f: string): string => `echo "$CASCADE_RESULT $CASCADE_ERROR_CODE" > ${join(dir, f)}`;
  return ['--on-complete', write(`${name}.complete`), '--on-failure', write(`${name}.failure`)];
}

const read = (f: string): Promise<string> => readFile(join(dir, f), 'utf8').then((s) => s.trim());

describe('problem 7: --on-complete only on success, --on-failure otherwise', () => {
  test('imaged → on-complete; target unusable → on-failure (never on-complete)', async () => {
    const seeder = role('seeder-a', [
      ...['seed', image, '--coordinator', coordinator.url, '--session', 'a', '--listen', '127.0.65.2:0'],
      ...['--end-count', '1'],
    ]);
    const ok = role('ok', peerArgs(coordinator.url, 'a', join(dir, 'ok.img'), '127.0.65.10:0', hooks('ok')));
    const bad = role(
      'bad',
      peerArgs(coordinator.url, 'a', join(dir, 'no-such-dir', 'bad.img'), '127.0.65.11:0', hooks('bad')),
    );
    assert.equal(await exitWithin(bad, 30_000), 3, `see ${bad.logFile}`);
    assert.equal(await exitWithin(ok, 60_000), 0, `see ${ok.logFile}`);
    assert.equal(await exitWithin(seeder, 30_000), 0);
    assert.equal(await read('ok.complete'), 'imaged');
    assert.equal(await exists(join(dir, 'ok.failure')), false, 'on-failure ran after success');
    assert.equal(await exists(join(dir, 'bad.complete')), false, 'on-complete ran after a failure');
    assert.equal(await read('bad.failure'), 'failed ERR_TARGET_UNUSABLE');
  });

  test('session ended before the image was complete → on-failure with result incomplete', async () => {
    const seeder = role('seeder-b', [
      ...['seed', image, '--coordinator', coordinator.url, '--session', 'b', '--listen', '127.0.65.3:0'],
      ...['--start', 'manual'],
    ]);
    const p = role('late', peerArgs(coordinator.url, 'b', join(dir, 'late.img'), '127.0.65.12:0', hooks('late')));
    await Promise.race([
      waitFor('late waiting', async () => {
        const s = (await httpStatus(coordinator.url, 'b')).sessions[0];
        return s && (s as unknown as { waiting: unknown[] }).waiting.length === 1 ? true : undefined;
      }),
      p.exited.then((code) => Promise.reject(new Error(`late exited ${code} while waiting; see ${p.logFile}`))),
    ]);
    const ended = await runCascade(['end', 'b', '--coordinator', coordinator.url]);
    assert.equal(ended.code, 0, ended.stderr);
    assert.equal(await exitWithin(p, 30_000), 5, `see ${p.logFile}`);
    await exitWithin(seeder, 30_000);
    assert.equal(await exists(join(dir, 'late.complete')), false, 'on-complete ran after an incomplete run');
    assert.match(await read('late.failure'), /^incomplete\b/);
  });

  test('cascade.on-failure is a known kernel parameter (boot media can set it)', async () => {
    const file = join(dir, 'cmdline');
    await writeFile(file, 'cascade.target=/tmp/x cascade.on-failure="sleep 3600"');
    const r = await runCascade(['peer', '--cmdline-file', file, '--show-config']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /unknown parameter/);
    const s = (JSON.parse(r.stdout) as { settings: Record<string, unknown> }).settings;
    assert.deepEqual(s['on-failure'], { value: 'sleep 3600', from: 'cmdline' });
  });
});
