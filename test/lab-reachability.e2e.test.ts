import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exitWithin, spawnRole, startCoordinator, writeImage, type RoleProcess } from '@cascade/cli';
import { sameBytes } from './boot-helpers.js';
import { peerArgs, runCascade, tempDir } from './helpers.js';
import { httpStatus, logLines, waitFor } from './lab-helpers.js';

/**
 * Issue #13, problems 1 and 2 on loopback (127.0.62.x). The netns half of problem 1 (a seeder on
 * 0.0.0.0 that reached the coordinator by ws://127.0.0.1 is still reachable from other hosts) is
 * in lab-netns.e2e.test.ts.
 *
 * Behaviour assumed:
 *  - (1) a fixed default data port, 7771, for seeder and peer (`--listen` default `0.0.0.0:7771`;
 *    a peer whose 7771 is taken falls back to any port); `--advertise HOST[:PORT]` on both, shown
 *    by `--show-config` as given.
 *  - (2) a server that cannot be reached (refused, or no answer within a connect timeout of a few
 *    seconds) is a network fault: the client logs `ERR_SERVER_UNREACHABLE` (never
 *    `ERR_VERIFY_FAILED`), backs off, reports it to the coordinator, rejoins the head of the queue
 *    and gets another server. After a few (≤ 3) independent reports the coordinator stops assigning
 *    that server and `status --json` shows it with `unreachable: true` (servers[].unreachable).
 */
const dir = await tempDir('lab-reach');
let coordinator: RoleProcess & { url: string };
const roles: RoleProcess[] = [];

before(async () => {
  coordinator = await startCoordinator(dir, '127.0.62.1');
});
after(async () => {
  for (const r of [...roles, coordinator]) {
    r.proc.kill('SIGTERM');
    await exitWithin(r, 5000);
  }
});

function role(name: string, args: string[]): RoleProcess {
  const r = spawnRole(name, args, dir);
  roles.push(r);
  return r;
}

type Settings = Record<string, { value: unknown; from: string } | undefined>;
async function showConfig(args: string[]): Promise<Settings> {
  const r = await runCascade([...args, '--show-config']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { settings: Settings }).settings;
}

describe('problem 1: a fixed data port and --advertise', () => {
  test('seeder and peer listen on data port 7771 by default', async () => {
    const seed = await showConfig(['seed', 'x.img', '--session', 's', '--cmdline-file', '/dev/null']);
    assert.equal(seed.listen?.value, '0.0.0.0:7771');
    const peer = await showConfig(['peer', '--target', 'x', '--cmdline-file', '/dev/null']);
    assert.equal(peer.listen?.value, '0.0.0.0:7771');
  });

  test('--advertise HOST:PORT is what clients dial (a NAT forward in front of the seeder)', async () => {
    const image = join(dir, 'nat.img');
    await writeImage(image, { size: 1024 * 1024 + 3, seed: 'nat' });
    const seederPort = await freePort('127.0.62.3');
    let forwarded = 0;
    const nat = createServer((c) => {
      forwarded++;
      const up = connect(seederPort, '127.0.62.3');
      c.pipe(up).pipe(c);
      c.on('error', () => up.destroy());
      up.on('error', () => c.destroy());
    });
    await new Promise<void>((r) => nat.listen(0, '127.0.62.4', r));
    const natPort = (nat.address() as AddressInfo).port;
    try {
      const seeder = role('nat-seeder', [
        ...['seed', image, '--coordinator', coordinator.url, '--session', 'nat', '--end-count', '1'],
        ...['--listen', `127.0.62.3:${seederPort}`, '--advertise', `127.0.62.4:${natPort}`],
      ]);
      const p = role('nat-peer', peerArgs(coordinator.url, 'nat', join(dir, 'nat-peer.img'), '127.0.62.5:0'));
      assert.equal(await exitWithin(p, 60_000), 0, `see ${p.logFile}`);
      assert.ok(await sameBytes(join(dir, 'nat-peer.img'), await readFile(image)));
      assert.ok(forwarded > 0, 'the peer never dialled the advertised HOST:PORT');
      assert.equal(await exitWithin(seeder, 30_000), 0);
    } finally {
      nat.close();
    }
  });

  test('--advertise on the kernel command line (cascade.advertise) for boot media', async () => {
    const file = join(dir, 'cmdline-adv');
    await writeFile(file, 'cascade.advertise=192.0.2.8:7000');
    const peer = await showConfig(['peer', '--target', 'x', '--cmdline-file', file]);
    assert.deepEqual(peer.advertise, { value: '192.0.2.8:7000', from: 'cmdline' });
  });
});

async function freePort(host: string): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, host, r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('problem 2: an unreachable server is a network fault, never a verification failure', () => {
  test('clients of a server nobody can reach get another server and are imaged; it stops being assigned', async () => {
    const image = join(dir, 'reach.img');
    await writeImage(image, { size: 3 * 1024 * 1024 + 17, seed: 'reach' });
    const expected = await readFile(image);
    const session = 'reach';
    const seeder = role('seeder', [
      ...['seed', image, '--coordinator', coordinator.url, '--session', session, '--slice', '512KiB'],
      ...['--listen', '127.0.62.2:0', '--capacity', '1', '--end-count', '6'],
    ]);
    // The "dead" peer is imaged first, then serves at an address where nothing listens.
    const deadTarget = join(dir, 'dead.img');
    role(
      'dead',
      peerArgs(coordinator.url, session, deadTarget, '127.0.62.10:0', ['--advertise', '127.0.62.99', '--name', 'dead']),
    );
    await waitFor('dead imaged and serving', async () => {
      const s = (await httpStatus(coordinator.url, session)).sessions[0];
      return s && s.imaged >= 1 && s.servers.some((x) => x.name === 'dead') ? true : undefined;
    });
    const clients = [1, 2, 3, 4, 5].map((i) =>
      role(
        `c${i}`,
        peerArgs(coordinator.url, session, join(dir, `c${i}.img`), `127.0.62.${10 + i}:0`, ['--name', `c${i}`]),
      ),
    );
    // Watch the server list while the clients run: does the coordinator ever mark dead unreachable?
    let sawUnreachable = false;
    let running = true;
    const watcher = (async () => {
      for (let i = 0; i < 600 && running; i++) {
        const s = (await httpStatus(coordinator.url, session).catch(() => null))?.sessions[0];
        if (s?.servers.some((x) => x.name === 'dead' && x.unreachable === true)) sawUnreachable = true;
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    const codes = await Promise.all(clients.map((c) => exitWithin(c, 90_000)));
    running = false;
    await watcher;
    for (const [i, c] of clients.entries()) {
      assert.equal(codes[i], 0, `${c.name}: exit ${codes[i]}; see ${c.logFile}`);
      assert.ok(await sameBytes(join(dir, `c${i + 1}.img`), expected), `${c.name}: target differs`);
      const text = await readFile(c.logFile, 'utf8');
      assert.doesNotMatch(text, /ERR_VERIFY_FAILED/, `${c.name}: a network fault reported as a verification failure`);
    }
    const assigned = (await logLines(coordinator.logFile)).filter(
      (l) => l.msg === 'assigned' && l.session === session && l.server === 'dead',
    );
    const reporters = new Set<unknown>();
    for (const [i, c] of clients.entries()) {
      if (/ERR_SERVER_UNREACHABLE/.test(await readFile(c.logFile, 'utf8'))) reporters.add(i);
    }
    if (assigned.length > 0) assert.ok(reporters.size > 0, 'clients met dead, none logged ERR_SERVER_UNREACHABLE');
    assert.ok(assigned.length <= 3, `dead was assigned ${assigned.length} times: it should stop after ≤ 3 reports`);
    if (reporters.size >= 3) assert.ok(sawUnreachable, 'dead was never shown as unreachable in status');
    assert.equal(await exitWithin(seeder, 30_000), 0);
  });
});
