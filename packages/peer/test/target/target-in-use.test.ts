import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertTargetFree, blockDeviceInUse, devNumber, type SystemPaths } from '../../src/target/target-in-use.js';

/** A fake /sys and /proc: disks sdx (partitions sdx1, sdx2), sdy, sdz; what is mounted is up to each test. */
describe('refusing targets that are in use', () => {
  let dir: string;
  let paths: SystemPaths;
  let rootDev: string;

  async function device(path: string, dev: string, partition = false): Promise<void> {
    await mkdir(join(path, 'holders'), { recursive: true });
    await writeFile(join(path, 'dev'), `${dev}\n`);
    if (partition) await writeFile(join(path, 'partition'), '1\n');
  }

  async function mounts(mountinfo: string, swaps = 'Filename Type Size Used Priority\n'): Promise<void> {
    await writeFile(join(paths.proc, 'self/mountinfo'), mountinfo);
    await writeFile(join(paths.proc, 'swaps'), swaps);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cascade-inuse-'));
    paths = { sys: join(dir, 'sys'), proc: join(dir, 'proc'), root: join(dir, 'root') };
    await mkdir(paths.root);
    await mkdir(join(paths.proc, 'self'), { recursive: true });
    rootDev = devNumber((await stat(paths.root)).dev);
    const block = join(paths.sys, 'class/block');
    await device(join(block, 'sdx'), '8:0');
    await device(join(block, 'sdx/sdx1'), '8:1', true);
    await device(join(block, 'sdx/sdx2'), '8:2', true);
    await device(join(block, 'sdy'), '8:16');
    await device(join(block, 'sdz'), rootDev === '8:32' ? '8:33' : '8:32');
    await mkdir(join(block, 'sdy/holders/dm-0'), { recursive: true });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a disk with nothing mounted, swapped or held is free', async () => {
    await mounts('22 1 0:21 / /proc rw - proc proc rw\n');
    assert.equal(await blockDeviceInUse('sdz', paths), null);
  });

  test('a disk whose partition is mounted is refused, named by its mount point', async () => {
    await mounts('22 1 0:21 / /proc rw - proc proc rw\n36 25 8:2 / /srv rw,relatime - ext4 /dev/sdx2 rw\n');
    assert.equal(await blockDeviceInUse('sdx', paths), '/dev/sdx2 is mounted on /srv');
    assert.equal(await blockDeviceInUse('sdx1', paths), null);
  });

  test('a mount found by its source path when the device number is virtual (btrfs)', async () => {
    await mounts('36 25 0:45 / /data rw - btrfs /dev/sdx1 rw\n');
    assert.match((await blockDeviceInUse('sdx', paths)) ?? '', /sdx1 is mounted on \/data/);
  });

  test('a partition used as swap is refused', async () => {
    await mounts('', 'Filename Type Size Used Priority\n/dev/sdx1 partition 1024 0 -2\n');
    assert.equal(await blockDeviceInUse('sdx', paths), '/dev/sdx1 is in use as swap');
  });

  test('a disk held by device-mapper (LVM, RAID) is refused', async () => {
    await mounts('');
    assert.match((await blockDeviceInUse('sdy', paths)) ?? '', /sdy is held by dm-0/);
  });

  test('the device behind / is refused even when the mount table says nothing', async () => {
    await mounts('');
    await writeFile(join(paths.sys, 'class/block/sdx/sdx1/dev'), `${rootDev}\n`);
    try {
      assert.equal(await blockDeviceInUse('sdx', paths), 'sdx1 holds the running system (/)');
    } finally {
      await writeFile(join(paths.sys, 'class/block/sdx/sdx1/dev'), '8:1\n');
    }
  });

  test('assertTargetFree: regular files are always free; --force skips the check', async () => {
    await assertTargetFree(join(dir, 'plain-file'), false, paths);
    await assertTargetFree('/dev/whatever-in-use', true, paths);
  });

  test('devNumber decodes Linux device numbers', () => {
    assert.equal(devNumber(0x0801), '8:1');
    assert.equal(devNumber(0x10300), '259:0');
  });
});
