import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CASCADE_BIN, writeImage } from '@cascade/cli';
import { exitOf, isRoot, sameBytes, sh, shQuiet, startProc, type Proc } from './boot-helpers.js';
import { tempDir } from './helpers.js';

/**
 * Two hosts on one Ethernet segment, all made by this test: network namespaces for the
 * coordinator+seeder host and the peer host, joined by veth links to a bridge that lives in a
 * third namespace. The subnet exists only inside these namespaces; everything is deleted after.
 */
const pid = process.pid;
const NS = { server: `cascade-srv-${pid}`, peer: `cascade-peer-${pid}`, bridge: `cascade-br-${pid}` };
const X = 20 + (pid % 200);
const SERVER_IP = `10.213.${X}.1`;
const PEER_IP = `10.213.${X}.2`;
const BROADCAST = `10.213.${X}.255`;
const dir = await tempDir('netns');

async function netnsUnavailable(): Promise<string | null> {
  if (!isRoot()) return 'needs root to create network namespaces';
  try {
    await sh('ip', ['netns', 'add', NS.bridge]);
    return null;
  } catch (err) {
    return `cannot create network namespaces: ${(err as Error).message}`;
  }
}

/** Host namespace `ns` with address `ip`/24 on eth0, cabled to the bridge. */
async function host(ns: string, ip: string, port: string): Promise<void> {
  await sh('ip', ['netns', 'add', ns]);
  await sh('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', port, 'netns', NS.bridge]);
  await sh('ip', ['-n', NS.bridge, 'link', 'set', port, 'master', 'br0', 'up']);
  await sh('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
  await sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
}

describe('discovery by UDP broadcast between network namespaces', async () => {
  const skip = await netnsUnavailable();
  const procs: Proc[] = [];

  function inNs(ns: string, name: string, args: string[]): Proc {
    const argv = ['ip', 'netns', 'exec', ns, process.execPath, CASCADE_BIN, ...args, '--log-format', 'json'];
    const p = startProc(name, argv, dir);
    procs.push(p);
    return p;
  }

  before(async () => {
    if (skip) return;
    await sh('ip', ['-n', NS.bridge, 'link', 'add', 'br0', 'type', 'bridge']);
    await sh('ip', ['-n', NS.bridge, 'link', 'set', 'br0', 'up']);
    await host(NS.server, SERVER_IP, 'p-srv');
    await host(NS.peer, PEER_IP, 'p-peer');
  });
  after(async () => {
    for (const p of procs) await p.stop();
    for (const ns of [NS.peer, NS.server, NS.bridge]) await shQuiet('ip', ['netns', 'del', ns]);
  });

  test('a peer given no coordinator and no session finds the coordinator and images its target', async (t) => {
    if (skip) return t.skip(skip);
    const size = 2 * 1024 * 1024 + 99;
    const image = join(dir, 'master.img');
    const target = join(dir, 'target.img');
    await writeImage(image, { size, seed: 'netns' });
    const c = inNs(NS.server, 'coordinator', ['coordinator', '--listen', '0.0.0.0:7770', '--discovery']);
    await c.line(/answering discovery on udp/);
    // The seeder opens the session the peer will default to: the subnet's broadcast address.
    const seedArgs = ['--coordinator', 'ws://127.0.0.1:7770', '--session', BROADCAST, '--listen', `${SERVER_IP}:0`];
    const seeder = inNs(NS.server, 'seeder', ['seed', image, ...seedArgs, '--slice', '1MiB', '--end-count', '1']);
    const peerArgs = ['--target', target, '--listen', `${PEER_IP}:0`, '--cmdline-file', '/dev/null'];
    const peer = inNs(NS.peer, 'peer', ['peer', ...peerArgs, '--discovery-timeout', '60s']);
    assert.equal(await exitOf(peer, 90_000), 0, `see ${peer.logFile}`);
    assert.ok(await sameBytes(target, await readFile(image)), 'target differs from the image');
    const log = await readFile(peer.logFile, 'utf8');
    assert.match(log, /"url":"ws:\/\/10\.213\.\d+\.1:7770".*"msg":"coordinator found"/);
    assert.match(log, /searching for a coordinator by UDP broadcast/);
    assert.match(log, new RegExp(`"session":"${BROADCAST.replace(/\./g, '\\.')}"`));
    assert.equal(await exitOf(seeder, 30_000), 0);
  });
});
