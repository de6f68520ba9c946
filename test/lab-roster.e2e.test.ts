import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { exitWithin, spawnRole, startCoordinator, writeImage, type RoleProcess } from '@cascade/cli';
import { peerArgs, runCascade, tempDir } from './helpers.js';
import { httpStatus, waitFor, type LabSession, type RosterEntry, keep, killAfter } from './lab-helpers.js';

/**
 * Issue #13, problems 3 and 4 on loopback (127.0.63.x).
 *
 * Behaviour assumed:
 *  - (3) members are keyed by id; `name` is the hostname when unique in the session, otherwise
 *    made unique (e.g. `host-127.0.0.1`, `host-aa:bb:…` or `host-2`): on one host every peer has the
 *    same hostname, so these peers (no --name) must still get distinct names. `status --json`
 *    sessions[].roster[] carries `ip` (the address the coordinator saw: 127.x here) and `mac`
 *    (string or null); the tree (`tree[]`) has one entry per imaged client, never merged by name.
 *  - (4) sessions[].roster[] keeps every peer (lab machine; seeders are in servers[]) that joined,
 *    with its `outcome`: `imaged` (`imagedAt`, `source` = the serving member's name), `failed`
 *    (`code`, `reason`; a peer whose
 *    target cannot be opened reports that to the coordinator before exiting 3), `left` (closed its
 *    control link cleanly, e.g. SIGTERM while waiting), `lost` (link dropped: SIGKILL).
 *    sessions[].summary = {imaged, failed, waiting, expected}; `cascade status` prints
 *    `imaged 2 · failed 1 · waiting 0 of 2 expected` and lists each failure with its code.
 *    `cascade seed --end-report FILE` writes the ended session (as in status --json: name, state,
 *    endReason, summary, roster) to FILE when its session ends.
 */
const dir = await tempDir('lab-roster');
let coordinator: RoleProcess & { url: string };
let image: string;
const roles: RoleProcess[] = [];

before(async () => {
  coordinator = await startCoordinator(dir, '127.0.63.1');
  image = join(dir, 'img.bin');
  await writeImage(image, { size: 2 * 1024 * 1024 + 11, seed: 'roster' });
});
killAfter(() => [...roles, coordinator]);

const role = (name: string, args: string[]): RoleProcess => keep(roles, spawnRole(name, args, dir));

async function session(name: string): Promise<LabSession | undefined> {
  return (await httpStatus(coordinator.url, name)).sessions[0];
}

function seed(session: string, listen: string, extra: string[]): RoleProcess {
  return role(`seeder-${session}`, [
    ...['seed', image, '--coordinator', coordinator.url, '--session', session, '--slice', '512KiB'],
    ...['--listen', listen, '--name', `seed-${session}`, ...extra],
  ]);
}

describe('problem 3: machines sharing a hostname stay distinct', () => {
  test('three peers without --name (one hostname) get unique names, their IP and a MAC field', async () => {
    const seeder = seed('same', '127.0.63.2:0', ['--end-count', '3']);
    const peers = [1, 2, 3].map((i) =>
      role(`same-${i}`, peerArgs(coordinator.url, 'same', join(dir, `same-${i}.img`), `127.0.63.${10 + i}:0`)),
    );
    for (const p of peers) assert.equal(await exitWithin(p, 60_000), 0, `see ${p.logFile}`);
    assert.equal(await exitWithin(seeder, 30_000), 0);
    const s = await session('same');
    assert.ok(s?.roster, 'status --json: no roster');
    const clients = s.roster.filter((r) => r.name !== 'seed-same');
    assert.equal(clients.length, 3, JSON.stringify(s.roster));
    assert.equal(
      new Set(clients.map((r) => r.name)).size,
      3,
      `names not unique: ${clients.map((r) => r.name).join(', ')}`,
    );
    for (const r of clients) {
      assert.match(r.ip, /^127\.\d+\.\d+\.\d+$/, `${r.name}: no ip`);
      assert.ok('mac' in r, `${r.name}: no mac field`);
      assert.equal(r.outcome, 'imaged');
    }
    const tree = (s as unknown as { tree: Array<{ client: string }> }).tree;
    assert.equal(new Set(tree.map((e) => e.client)).size, 3, 'the tree merged machines of the same name');
  });
});

describe('problem 4: a roster of every machine and how it ended', () => {
  test('imaged, failed, left and lost stay listed; summary line; end report file', async () => {
    const report = join(dir, 'end-report.json');
    const seeder = seed('roster', '127.0.63.20:0', ['--start', 'manual', '--end-count', '2', '--end-report', report]);
    await Promise.race([
      waitFor('session open', async () => ((await session('roster')) ? true : undefined)),
      seeder.exited.then((code) => Promise.reject(new Error(`seeder exited ${code}; see ${seeder.logFile}`))),
    ]);
    const peer = (name: string, target: string, i: number): RoleProcess =>
      role(name, peerArgs(coordinator.url, 'roster', target, `127.0.63.${20 + i}:0`, ['--name', name]));
    const a = peer('a', join(dir, 'a.img'), 1);
    const b = peer('b', join(dir, 'b.img'), 2);
    const c = peer('c', join(dir, 'no-such-dir', 'c.img'), 3);
    const d = peer('d', join(dir, 'd.img'), 4);
    const e = peer('e', join(dir, 'e.img'), 5);
    assert.equal(await exitWithin(c, 30_000), 3, `c: see ${c.logFile}`);
    await waitFor('a b d e waiting', async () => ((await session('roster'))!.waiting!.length >= 4 ? true : undefined));
    d.proc.kill('SIGTERM');
    e.proc.kill('SIGKILL');
    await exitWithin(d, 10_000);
    await exitWithin(e, 10_000);
    const started = await runCascade(['start', 'roster', '--coordinator', coordinator.url]);
    assert.equal(started.code, 0, started.stderr);
    assert.equal(await exitWithin(a, 60_000), 0, `a: see ${a.logFile}`);
    assert.equal(await exitWithin(b, 60_000), 0, `b: see ${b.logFile}`);
    assert.equal(await exitWithin(seeder, 30_000), 0, `seeder: see ${seeder.logFile}`);

    const s = await session('roster');
    assert.ok(s?.roster, 'status --json: no roster');
    const by = (n: string): RosterEntry | undefined => s.roster!.find((r) => r.name === n);
    for (const n of ['a', 'b']) {
      const r = by(n);
      assert.equal(r?.outcome, 'imaged', `${n}: ${JSON.stringify(r)}`);
      assert.equal(typeof r.imagedAt, 'number');
      assert.ok(r.source && r.source !== n && ['seed-roster', 'a', 'b'].includes(r.source), `${n}: source ${r.source}`);
    }
    assert.deepEqual(
      { outcome: by('c')?.outcome, code: by('c')?.code },
      { outcome: 'failed', code: 'ERR_TARGET_UNUSABLE' },
    );
    assert.ok(by('c')!.reason, 'c: failed without a reason');
    assert.equal(by('d')?.outcome, 'left');
    assert.equal(by('e')?.outcome, 'lost');
    assert.deepEqual(s.summary, { imaged: 2, failed: 1, waiting: 0, expected: 2 });

    const text = await runCascade(['status', '--session', 'roster', '--coordinator', coordinator.url]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /imaged 2 · failed 1 · waiting 0 of 2 expected/);
    assert.match(text.stdout, /\bc\b.*ERR_TARGET_UNUSABLE/);

    const file = JSON.parse(await readFile(report, 'utf8')) as LabSession;
    assert.equal(file.name, 'roster');
    assert.deepEqual(file.summary, s.summary);
    assert.deepEqual(file.roster?.map((r) => [r.name, r.outcome]).sort(), [
      ['a', 'imaged'],
      ['b', 'imaged'],
      ['c', 'failed'],
      ['d', 'left'],
      ['e', 'lost'],
    ]);
  });
});
