import assert from 'node:assert/strict';
import { mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CASCADE_BIN, writeImage } from '@cascade/cli';
import { exitOf, isRoot, sameBytes, sh, shQuiet, startProc, type Proc } from './boot-helpers.js';
import { peerArgs, tempDir } from './helpers.js';

const MiB = 1024 * 1024;
const dir = await tempDir('blockdev');

/** Why loop devices cannot be used here, or null when they can. */
async function loopUnavailable(): Promise<string | null> {
  if (!isRoot()) return 'needs root to attach loop devices';
  try {
    await sh('losetup', ['-f']);
    return null;
  } catch (err) {
    return `no free loop device: ${(err as Error).message}`;
  }
}

describe('block-device targets on loop devices', async () => {
  const skip = await loopUnavailable();
  const loops: string[] = [];
  const mounts: string[] = [];
  const procs: Proc[] = [];
  const image = join(dir, 'master.img');
  const size = 3 * MiB + 7;
  let url = '';

  /** A loop device over a fresh file of `bytes` bytes (detached in after()). */
  async function loopDevice(name: string, bytes: number): Promise<string> {
    const file = join(dir, `${name}.backing`);
    await writeFile(file, '');
    await truncate(file, bytes);
    const dev = await sh('losetup', ['-f', '--show', file]);
    loops.push(dev);
    return dev;
  }

  function role(name: string, args: string[]): Proc {
    const p = startProc(name, [process.execPath, CASCADE_BIN, ...args, '--log-format', 'json'], dir);
    procs.push(p);
    return p;
  }

  function peer(name: string, session: string, target: string, host: string): Proc {
    return role(name, peerArgs(url, session, target, `${host}:0`));
  }

  function seeder(session: string, host: string): Proc {
    const args = ['--coordinator', url, '--session', session, '--listen', `${host}:0`, '--slice', '1MiB'];
    return role(`seeder-${session}`, ['seed', image, ...args, '--end-count', '1']);
  }

  before(async () => {
    if (skip) return;
    await writeImage(image, { size, seed: 'blockdev' });
    const c = role('coordinator', ['coordinator', '--listen', '127.0.9.1:0']);
    url = (await c.line(/listening on (ws:\/\/\S+)/))[1]!;
  });
  after(async () => {
    for (const p of procs) await p.stop();
    for (const m of mounts) await shQuiet('umount', [m]);
    for (const l of loops) await shQuiet('losetup', ['-d', l]);
  });

  test('a peer images a loop device byte-exact', async (t) => {
    if (skip) return t.skip(skip);
    const dev = await loopDevice('ok', 8 * MiB);
    const s = seeder('exact', '127.0.9.2');
    const p = peer('peer-exact', 'exact', dev, '127.0.9.3');
    assert.equal(await exitOf(p, 60_000), 0, `see ${p.logFile}`);
    assert.ok(await sameBytes(dev, await readFile(image)), `${dev} does not hold the image`);
    assert.equal(await exitOf(s, 30_000), 0);
  });

  test('a loop device smaller than the image is refused with exit 3', async (t) => {
    if (skip) return t.skip(skip);
    const dev = await loopDevice('small', 1 * MiB);
    seeder('small', '127.0.9.4');
    const p = peer('peer-small', 'small', dev, '127.0.9.5');
    assert.equal(await exitOf(p, 60_000), 3);
    assert.match(
      await readFile(p.logFile, 'utf8'),
      /holds 1048576 bytes; the image needs 3145735 .*ERR_TARGET_TOO_SMALL/,
    );
  });

  test('a mounted loop device is refused with exit 3, and its files are untouched', async (t) => {
    if (skip) return t.skip(skip);
    const dev = await loopDevice('mounted', 8 * MiB);
    await sh('mkfs.ext4', ['-q', '-F', dev]);
    const mnt = join(dir, 'mnt');
    await mkdir(mnt);
    await sh('mount', [dev, mnt]);
    mounts.push(mnt);
    await writeFile(join(mnt, 'keep.txt'), 'still here');
    const p = peer('peer-mounted', 'mounted', dev, '127.0.9.6');
    assert.equal(await exitOf(p, 30_000), 3);
    const log = await readFile(p.logFile, 'utf8');
    assert.match(log, /is mounted on .*mnt.*--force.*ERR_TARGET_IN_USE/);
    assert.equal(await readFile(join(mnt, 'keep.txt'), 'utf8'), 'still here');
  });
});
