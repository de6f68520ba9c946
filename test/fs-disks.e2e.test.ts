import assert from 'node:assert/strict';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { covers } from '../packages/common/test/disk-fixtures.js';
import { FaultLab } from './fault-lab.js';
import {
  assertFsck,
  assertUsedEqual,
  ddAt,
  ext4Image,
  extract,
  fsTools,
  labFiles,
  layoutOf,
  MiB,
  sh,
  staleImage,
} from './fs-lab.js';
import { tempDir } from './helpers.js';

// Whole disks (a partition table, filesystems, swap, stale free space) through real processes.

let skip: string | null = null;
before(async () => {
  skip = await fsTools();
});

/** Seed `image` to one peer; the peer's target once it exited 0, and the seeder's log. */
async function restore(image: string, host: string): Promise<{ target: string; seederLog: string }> {
  const l = new FaultLab(join(image, '..'), image, (await stat(image)).size, 'lab', host);
  await l.startCoordinator(['--ping-interval', '1s']);
  const seeder = l.startSeeder(['--slice', '1MiB', '--start-count', '1', '--end-count', '1']);
  const p = l.startPeer(1, [], 'D');
  const r = await l.finish(p, 180_000);
  assert.equal(r.exit, 0, `peer exit (see ${p.logFile})`);
  return { target: p.target, seederLog: await readFile(seeder.logFile, 'utf8') };
}

/** A FAT32 filesystem image with a few files (mtools: no mount). */
async function fat32Image(dir: string, mib: number): Promise<string> {
  const image = join(dir, 'fat32.fs');
  await staleImage(image, mib, 21);
  await sh('mkfs.vfat', ['-F', '32', '-s', '1', image]);
  const files = join(dir, 'fat-files');
  const names = await labFiles(files, 12, 128, 22);
  await sh('mcopy', ['-i', image, ...names.map((n) => join(files, n)), '::/']);
  await sh('mdel', ['-i', image, ...names.filter((_, i) => i % 3 === 1).map((n) => `::/${n}`)]);
  return image;
}

describe('partitioned disks', () => {
  test('GPT with ext4, FAT32 and swap: every used range restored, fsck clean on each partition', async (t) => {
    if (skip !== null) return t.skip(skip);
    const dir = await tempDir('fs-gpt');
    const ext4 = await ext4Image(dir, 'part-ext4', 40, 23);
    const fat = await fat32Image(dir, 40);
    const swap = join(dir, 'swap.fs');
    await staleImage(swap, 8, 24);
    await sh('mkswap', [swap]);
    const image = join(dir, 'disk.img');
    await staleImage(image, 100, 25);
    await sh(
      'sgdisk',
      ['-Z', '-o', '-n', '1:1M:+40M', '-t', '1:8300', '-n', '2:0:+40M', '-t', '2:0700'].concat([
        '-n',
        '3:0:+8M',
        '-t',
        '3:8200',
        image,
      ]),
    );
    await ddAt(ext4, image, 1 * MiB);
    await ddAt(fat, image, 41 * MiB);
    await ddAt(swap, image, 81 * MiB);
    const layout = await layoutOf(image);
    assert.deepEqual(
      layout.partitions.map((p) => [p.index, p.fs, p.mapped]),
      [
        [1, 'ext', true],
        [2, 'fat', true],
        [3, 'swap', false],
      ],
    );
    assert.ok(layout.usedBytes < layout.size / 2, `free space left out: ${layout.usedBytes} of ${layout.size}`);
    const { target } = await restore(image, '127.0.6.46');
    await assertUsedEqual(image, target, layout.used, 'D');
    const [p1, p2] = layout.partitions;
    await extract(target, join(dir, 'p1.fs'), p1!.start, p1!.length);
    await extract(target, join(dir, 'p2.fs'), p2!.start, p2!.length);
    await assertFsck('ext', join(dir, 'p1.fs'), 'partition 1');
    await assertFsck('fat', join(dir, 'p2.fs'), 'partition 2');
    // Free space was never written: the target is sparse.
    const st = await stat(target);
    assert.ok(st.blocks * 512 < layout.size * 0.75, `target allocated ${st.blocks * 512} of ${layout.size}`);
  });

  test('a filesystem whose map cannot be read is sent whole, with a warning in the seeder log', async (t) => {
    if (skip !== null) return t.skip(skip);
    const dir = await tempDir('fs-fallback');
    const ext4 = await ext4Image(dir, 'broken-ext4', 40, 26);
    const image = join(dir, 'disk.img');
    await staleImage(image, 48, 27);
    await sh('sfdisk', ['-q', image], 'label: dos\nstart=1MiB, size=40MiB, type=83\n');
    await ddAt(ext4, image, 1 * MiB);
    const fh = await open(image, 'r+');
    await fh.write(Buffer.from([9, 0, 0, 0]), 0, 4, 1 * MiB + 1024 + 0x18); // ext block size: 512 KiB
    await fh.close();
    const layout = await layoutOf(image);
    const p = layout.partitions[0]!;
    assert.equal(p.mapped, false);
    assert.ok(covers(layout.used, [[p.start, p.start + p.length]]), 'the partition is sent whole');
    const { target, seederLog } = await restore(image, '127.0.6.47');
    assert.match(seederLog, /part of the image is sent whole/);
    assert.match(seederLog, /partition 1 .*sent whole/);
    await assertUsedEqual(image, target, layout.used, 'D');
  });
});
