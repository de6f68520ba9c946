import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { exitWithin, spawnRole, startCoordinator, writeImage, type RoleProcess } from '@cascade/cli';
import { sameBytes } from './boot-helpers.js';
import { peerArgs, runCascade, tempDir } from './helpers.js';
import { httpStatus, waitFor, type LabSession, keep, killAfter } from './lab-helpers.js';

/**
 * Issue #13, problem 8 on loopback (127.0.66.x): the seeder's lifecycle.
 *
 * Behaviour assumed:
 *  - a second seeder of the same image joining an open session adds a source (servers[] gets
 *    its name) and changes nothing else, whatever gating options it was given (here none, i.e.
 *    "start at once"): a `--start manual` session stays `waiting` (startedAt null, no transfer)
 *    until `cascade start`; the session keeps the first seeder's options (end-count 2);
 *  - SIGINT (or SIGTERM) on the seeder that opened a session ends it cleanly: the seeder exits 0,
 *    the session shows `state: 'ended'` with an endReason naming the seeder (e.g. 'seeder
 *    stopped'), and waiting peers exit 5 promptly;
 *  - `cascade seed IMAGE` without --session opens the session a peer without --session joins
 *    (the broadcast address of the subnet the coordinator is on, or of the first local subnet).
 */
const dir = await tempDir('lab-seeder');
let coordinator: RoleProcess & { url: string };
let image: string;
let expected: Buffer;
const roles: RoleProcess[] = [];

before(async () => {
  coordinator = await startCoordinator(dir, '127.0.66.1');
  image = join(dir, 'img.bin');
  await writeImage(image, { size: 2 * 1024 * 1024 + 1, seed: 'lifecycle' });
  expected = await readFile(image);
});
killAfter(() => [...roles, coordinator]);

const role = (name: string, args: string[]): RoleProcess => keep(roles, spawnRole(name, args, dir));

const seedArgs = (session: string | null, listen: string, extra: string[] = []): string[] => [
  ...['seed', image, '--coordinator', coordinator.url, '--listen', listen, '--slice', '512KiB'],
  ...(session ? ['--session', session] : []),
  ...extra,
];

async function session(name: string): Promise<LabSession | undefined> {
  return (await httpStatus(coordinator.url, name)).sessions[0];
}

function shut(s: LabSession): void {
  const x = s as unknown as { startedAt: number | null; transfers: unknown[] };
  assert.equal(s.state, 'waiting', 'the second seeder started the session');
  assert.equal(x.startedAt, null);
  assert.equal(x.transfers.length, 0);
}

describe('problem 8: the seeder lifecycle', () => {
  test('a second seeder of the same image adds a source without touching the gating', async () => {
    const s1 = role('s1', seedArgs('gate', '127.0.66.2:0', ['--name', 's1', '--start', 'manual', '--end-count', '2']));
    await waitFor('gate open', async () => ((await session('gate')) ? true : undefined));
    const peers = [1, 2].map((i) =>
      role(`g${i}`, peerArgs(coordinator.url, 'gate', join(dir, `g${i}.img`), `127.0.66.${10 + i}:0`)),
    );
    await waitFor('two waiting', async () => ((await session('gate'))!.waiting?.length === 2 ? true : undefined));
    // Started as an operator would add a source: no gating options (its own default is "start at once").
    const s2 = role('s2', seedArgs('gate', '127.0.66.3:0', ['--name', 's2']));
    const seen = await waitFor('s2 serving (or the gate opened)', async () => {
      const s = (await session('gate'))!;
      const both = s.servers.some((x) => x.name === 's2') && s.servers.some((x) => x.name === 's1');
      return s.state !== 'waiting' || both ? s : undefined;
    });
    shut(seen);
    for (let i = 0; i < 10; i++) shut((await session('gate'))!); // and it stays shut
    const started = await runCascade(['start', 'gate', '--coordinator', coordinator.url]);
    assert.equal(started.code, 0, started.stderr);
    for (const [i, p] of peers.entries()) {
      assert.equal(await exitWithin(p, 60_000), 0, `see ${p.logFile}`);
      assert.ok(await sameBytes(join(dir, `g${i + 1}.img`), expected));
    }
    assert.equal(await exitWithin(s1, 30_000), 0, `see ${s1.logFile}`);
    assert.equal(await exitWithin(s2, 30_000), 0, `see ${s2.logFile}`);
  });

  test('SIGINT on the seeder ends its session cleanly; waiting peers exit 5', async () => {
    const s = role('sig', seedArgs('sig', '127.0.66.4:0', ['--name', 'sig', '--start', 'manual']));
    await waitFor('sig open', async () => ((await session('sig')) ? true : undefined));
    const p = role('sig-peer', peerArgs(coordinator.url, 'sig', join(dir, 'sig-peer.img'), '127.0.66.20:0'));
    await waitFor('peer waiting', async () => ((await session('sig'))!.waiting?.length === 1 ? true : undefined));
    s.proc.kill('SIGINT');
    assert.equal(await exitWithin(s, 10_000), 0, `see ${s.logFile}`);
    const ended = await waitFor(
      'session ended',
      async () => {
        const x = await session('sig');
        return x?.state === 'ended' ? x : undefined;
      },
      10_000,
    );
    assert.match(String((ended as unknown as { endReason: string | null }).endReason), /seeder/);
    assert.equal(await exitWithin(p, 15_000), 5, `see ${p.logFile}`);
  });

  test('a seeder without --session meets peers without --session', async () => {
    const s = role('nosession', seedArgs(null, '127.0.66.5:0', ['--end-count', '1']));
    const p = role('default-peer', [
      ...['peer', '--coordinator', coordinator.url, '--target', join(dir, 'default.img')],
      ...['--listen', '127.0.66.21:0', '--cmdline-file', '/dev/null'],
    ]);
    const seederFailed = s.exited.then((code) => (code === 0 ? new Promise<never>(() => undefined) : code));
    const first = await Promise.race([exitWithin(p, 60_000), seederFailed.then((code) => `seeder exited ${code}`)]);
    assert.equal(first, 0, `see ${p.logFile} and ${s.logFile}`);
    assert.ok(await sameBytes(join(dir, 'default.img'), expected));
    assert.equal(await exitWithin(s, 30_000), 0, `see ${s.logFile}`);
  });
});
