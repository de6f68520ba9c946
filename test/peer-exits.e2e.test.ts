import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exitWithin, fetchSession, spawnRole, startCoordinator, writeImage, type RoleProcess } from '@cascade/cli';
import { peerArgs, runCascade, tempDir, waitUntil, type CascadeRun } from './helpers.js';

// A peer's known endings (DESIGN.md, exit codes) each print one clear line on stderr: no
// "event failed" log with a stack trace before it (issue 30).

const dir = await tempDir('peer-exits');
const image = join(dir, 'img.bin');

/** What a user reads: the peer's stderr with human-readable logs, as on a terminal. */
function assertOneLineEnding(r: CascadeRun, code: number, line: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  assert.doesNotMatch(r.stderr, /event failed|task failed/, 'no failure log before the one line');
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.doesNotMatch(r.stderr, /\bERROR\b/, 'nothing logged at error level');
  const lines = r.stderr.trimEnd().split('\n');
  assert.match(lines.at(-1)!, line);
  assert.equal(lines.filter((l) => l.startsWith('cascade')).length, 1, 'one line says why');
}

describe('a peer that ends without an image says why in one line', () => {
  let coordinator: RoleProcess & { url: string };
  const roles: RoleProcess[] = [];

  before(async () => {
    await writeImage(image, { size: 2 * 1024 * 1024 + 5, seed: 'peer-exits' });
    coordinator = await startCoordinator(dir, '127.0.90.1');
  });
  after(async () => {
    for (const r of roles) r.proc.kill('SIGTERM');
    coordinator.proc.kill('SIGTERM');
    await exitWithin(coordinator, 5000);
  });

  test('a session ended before the image was complete: exit 5, ERR_INCOMPLETE, one line, no stack', async () => {
    const seeder = spawnRole(
      'seeder-manual',
      ['seed', image, '--coordinator', coordinator.url, '--session', 'manual', '--listen', '127.0.90.2:0'].concat([
        '--slice',
        '1MiB',
        '--start',
        'manual',
      ]),
      dir,
    );
    roles.push(seeder);
    const target = join(dir, 'waiting.img');
    const peer = runCascade(peerArgs(coordinator.url, 'manual', target, '127.0.90.3:0', ['--log-format', 'pretty']), {
      timeoutMs: 60_000,
    });
    await waitUntil(
      'the peer waiting in the manual session',
      async () => ((await fetchSession(coordinator.url, 'manual'))?.waiting.length ?? 0) > 0,
    );
    const end = await runCascade(['end', 'manual', '--coordinator', coordinator.url]);
    assert.equal(end.code, 0, end.stderr);
    assertOneLineEnding(await peer, 5, /^cascade peer: session ended .*\(ERR_INCOMPLETE\)$/);
    assert.equal(await exitWithin(seeder, 15_000), 0);
  });

  test('a manifest signed by a key the peer does not trust: exit 4, one line, no stack, no target', async () => {
    const keys = await runCascade(['keygen', '--out', join(dir, 'signer.key')]);
    assert.equal(keys.code, 0, keys.stderr);
    const stranger = await runCascade(['keygen', '--out', join(dir, 'stranger.key')]);
    assert.equal(stranger.code, 0, stranger.stderr);
    const strangerPub = (await readFile(join(dir, 'stranger.key.pub'), 'utf8')).trim();
    const seeder = spawnRole(
      'seeder-signed',
      ['seed', image, '--coordinator', coordinator.url, '--session', 'signed', '--listen', '127.0.90.4:0'].concat([
        '--slice',
        '1MiB',
        '--sign-key',
        join(dir, 'signer.key'),
      ]),
      dir,
    );
    roles.push(seeder);
    const target = join(dir, 'untrusted.img');
    const r = await runCascade(
      peerArgs(coordinator.url, 'signed', target, '127.0.90.5:0', ['--trust', strangerPub, '--log-format', 'pretty']),
      { timeoutMs: 60_000 },
    );
    assertOneLineEnding(r, 4, /^cascade peer: .*\(ERR_MANIFEST_KEY_UNTRUSTED\)$/);
    assert.equal(existsSync(target), false, 'the refused peer did not create its target');
    const end = await runCascade(['end', 'signed', '--coordinator', coordinator.url]);
    assert.equal(end.code, 0, end.stderr);
    assert.equal(await exitWithin(seeder, 15_000), 0);
  });
});
