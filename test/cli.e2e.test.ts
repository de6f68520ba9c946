import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exitWithin, fetchSession, spawnRole, startCoordinator, writeImage, type RoleProcess } from '@cascade/cli';
import { peerArgs, runCascade, tempDir, waitUntil, type CascadeRun } from './helpers.js';

const cascade = (args: string[], timeoutMs = 30_000): Promise<CascadeRun> => runCascade(args, { timeoutMs });

/** `cascade seed` arguments for this file's coordinator, 1 MiB slices. */
function seedArgs(image: string, url: string, session: string, listen: string, extra: string[]): string[] {
  return ['seed', image, '--coordinator', url, '--session', session, '--listen', listen, '--slice', '1MiB', ...extra];
}

const dir = await tempDir('cli');

describe('the cascade command', () => {
  let coordinator: RoleProcess & { url: string };
  let image: string;

  before(async () => {
    image = join(dir, 'img.bin');
    await writeImage(image, { size: 3 * 1024 * 1024 + 7, seed: 'cli' });
    coordinator = await startCoordinator(dir, '127.0.5.1');
  });
  after(async () => {
    coordinator.proc.kill('SIGTERM');
    await exitWithin(coordinator, 5000);
  });

  test('manifest --json prints a manifest with a digest per slice, and the image sizes', async () => {
    const r = await cascade(['manifest', image, '--json', '--slice', '1MiB']);
    assert.equal(r.code, 0, r.stderr);
    const m = JSON.parse(r.stdout) as { digests: string[]; size: number; imageId: string; sizes: { image: number } };
    assert.equal(m.size, 3 * 1024 * 1024 + 7);
    assert.equal(m.sizes.image, m.size, 'the sizes ride along: image, used, payload, wire, ratio');
    assert.equal(m.digests.length, 4);
    assert.match(m.imageId, /^[0-9a-f]{32}$/);
  });

  test('manifest --relay prepares the manifest a relay seeder then starts from; the classic one stays cached too', async () => {
    const cacheDir = join(dir, 'manifest-cache');
    const built = await cascade(['manifest', image, '--relay', '--cache-dir', cacheDir]);
    assert.equal(built.code, 0, built.stderr);
    assert.match(built.stdout, /slices\s+4 × 1\.0 MiB/);
    assert.match(built.stdout, /cache\s+built/);
    const classic = await cascade(['manifest', image, '--cache-dir', cacheDir]);
    assert.match(classic.stdout, /slices\s+1 × 4\.0 MiB/);
    assert.match(classic.stdout, /cache\s+built/);
    assert.match((await cascade(['manifest', image, '--relay', '--cache-dir', cacheDir])).stdout, /cache\s+reused/);

    const seeder = spawnRole(
      'seeder-prepared',
      ['seed', image, '--coordinator', coordinator.url, '--session', 'prepared', '--listen', '127.0.5.9:0'].concat([
        '--relay',
        '--cache-dir',
        cacheDir,
      ]),
      dir,
    );
    try {
      type Line = { msg?: string; cached?: boolean; slices?: number };
      let ready: Line | undefined;
      await waitUntil('the seeder has its manifest', async () => {
        const lines = (await readFile(seeder.logFile, 'utf8').catch(() => ''))
          .split('\n')
          .filter((l) => l.startsWith('{'));
        ready = lines.map((l) => JSON.parse(l) as Line).find((l) => l.msg === 'manifest ready');
        return ready !== undefined;
      });
      assert.equal(ready?.cached, true);
      assert.equal(ready?.slices, 4);
    } finally {
      seeder.proc.kill('SIGTERM');
      await exitWithin(seeder, 5000);
    }
  });

  test('a bad flag value exits 2 with one clear line', async () => {
    const r = await cascade(['peer', '--session', 's', '--target', join(dir, 't'), '--listen', 'nonsense']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--listen: expected host:port.*ERR_BAD_CONFIG/);
  });

  test('a missing required flag exits 2', async () => {
    const r = await cascade(['peer', '--session', 's']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /target/);
  });

  test('ending an unknown session is refused with ERR_UNKNOWN_SESSION', async () => {
    const r = await cascade(['end', 'nope', '--coordinator', coordinator.url]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /ERR_UNKNOWN_SESSION/);
  });

  test('a peer whose target cannot be written exits 3; a session ended early makes a waiting peer exit 5', async () => {
    const seeder = spawnRole(
      'seeder-gated',
      seedArgs(image, coordinator.url, 'gated', '127.0.5.2:0', ['--start', 'manual']),
      dir,
    );
    const bad = await cascade(
      peerArgs(coordinator.url, 'gated', join(dir, 'no', 'such', 'dir', 't.img'), '127.0.5.3:0'),
    );
    assert.equal(bad.code, 3, bad.stderr);
    assert.match(bad.stderr, /ERR_TARGET_UNUSABLE/);

    const waiting = spawnRole(
      'peer-waiting',
      peerArgs(coordinator.url, 'gated', join(dir, 'w.img'), '127.0.5.4:0'),
      dir,
    );
    await waitUntil(
      'the peer waiting in the gated session',
      async () => ((await fetchSession(coordinator.url, 'gated'))?.waiting.length ?? 0) > 0,
    );
    const status = await cascade(['status', '--coordinator', coordinator.url, '--json']);
    const snap = JSON.parse(status.stdout) as { sessions: Array<{ name: string; state: string; waiting: unknown[] }> };
    const gated = snap.sessions.find((s) => s.name === 'gated');
    assert.equal(gated?.state, 'waiting');
    assert.equal(gated?.waiting.length, 1);

    const end = await cascade(['end', 'gated', '--coordinator', coordinator.url]);
    assert.equal(end.code, 0, end.stderr);
    assert.equal(await exitWithin(waiting, 15_000), 5);
    assert.equal(await exitWithin(seeder, 15_000), 0);
  });

  test('a session with --linger ends once nobody waits, and its imaged peer exits 0', async () => {
    const seeder = spawnRole(
      'seeder-linger',
      // --start-count 1: the session waits for the peer (no linger before it arrives, however
      // slowly it starts), then ends 1 s after it is imaged.
      seedArgs(image, coordinator.url, 'linger', '127.0.5.5:0', ['--start-count', '1', '--linger', '1s']),
      dir,
    );
    const peer = await cascade(peerArgs(coordinator.url, 'linger', join(dir, 'l.img'), '127.0.5.6:0'));
    assert.equal(peer.code, 0, peer.stderr);
    assert.match(peer.stdout, /imaged .*l\.img/);
    assert.equal(await exitWithin(seeder, 15_000), 0);
  });
});
