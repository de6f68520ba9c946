import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiskLayout } from '../src/disk/disk-layout.js';
import { complementRanges, mergeRanges, shiftClip, usedWithin, type ByteRange } from '../src/disk/ranges.js';
import { blankImage, covers, ddAt, fsTools, layoutOf, makeFiles, sh } from './disk-fixtures.js';
import { noise } from './fixtures.js';

const MiB = 1 << 20;
let dir = '';
let skip: string | null = null;
/** Standalone filesystem images (built once) and their own maps. */
const fsImages: Record<string, { path: string; used: ByteRange[] }> = {};

async function buildFs(name: string, mib: number, make: (path: string) => Promise<unknown>): Promise<void> {
  const path = join(dir, `${name}.fs`);
  await blankImage(path, mib);
  await make(path);
  fsImages[name] = { path, used: (await layoutOf(path)).used };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-disk-table-'));
  skip = await fsTools();
  if (skip !== null) return;
  const files = join(dir, 'files');
  await makeFiles(files, 30, 256, 5);
  await buildFs('ext4', 40, (p) => sh('mkfs.ext4', ['-q', '-F', '-d', files, p]));
  await buildFs('fat32', 40, (p) => sh('mkfs.vfat', ['-F', '32', '-s', '1', p]));
  await buildFs('ntfs', 24, (p) => sh('mkntfs', ['-q', '-F', '-f', p]));
  await buildFs('swap', 8, (p) => sh('mkswap', [p]));
});
after(() => rm(dir, { recursive: true, force: true }));

/** A disk of `mib` MiB full of stale noise, partitioned by `partition`, filesystems dd'd in. */
async function makeDisk(
  name: string,
  mib: number,
  partition: (image: string) => Promise<unknown>,
  place: [string, number][],
) {
  const image = join(dir, `${name}.img`);
  const fh = await open(image, 'w');
  for (let i = 0; i < mib; i++) await fh.write(noise(MiB, 1000 + i), 0, MiB, i * MiB);
  await fh.close();
  await partition(image);
  for (const [fs, startMiB] of place) await ddAt(fsImages[fs]!.path, image, startMiB * MiB);
  return image;
}

/** The partition's used ranges are its standalone filesystem's map, moved to its offset. */
function assertSameAsStandalone(layout: DiskLayout, index: number, fs: string): void {
  const p = layout.partitions.find((x) => x.index === index)!;
  const expected = shiftClip(fsImages[fs]!.used, p.start, p.start, p.start + p.length);
  assert.deepEqual(usedWithin(layout.used, p.start, p.start + p.length), expected, `partition ${index} (${fs})`);
}

function assertOutsideSent(layout: DiskLayout): void {
  const areas = mergeRanges(layout.partitions.map((p): ByteRange => [p.start, p.start + p.length]));
  assert.ok(covers(layout.used, complementRanges(areas, 0, layout.size)), 'space outside partitions is sent');
}

describe('partition tables', () => {
  test('MBR with a logical partition chain: ext4, swap, FAT32 (logical), an unknown logical; then a broken ext4', async (t) => {
    if (skip !== null) return t.skip(skip);
    const script = (img: string) => [
      'label: dos',
      'start=1MiB, size=40MiB, type=83',
      'size=8MiB, type=82',
      'size=60MiB, type=5',
      `${img}5 : start=50MiB, size=40MiB, type=c`,
      `${img}6 : start=91MiB, size=8MiB, type=83`,
    ];
    const image = await makeDisk('mbr', 128, (img) => sh('sfdisk', ['-q', img], script(img).join('\n')), [
      ['ext4', 1],
      ['swap', 41],
      ['fat32', 50],
    ]);
    const layout = await layoutOf(image);
    assert.equal(layout.table, 'mbr');
    const sf = JSON.parse(await sh('sfdisk', ['-J', image])) as {
      partitiontable: { partitions: { node: string; start: number; size: number; type: string }[] };
    };
    const expected = sf.partitiontable.partitions
      .filter((p) => p.type !== '5')
      .map((p) => [Number(/(\d+)$/.exec(p.node)![1]), p.start * 512, p.size * 512]);
    assert.deepEqual(
      layout.partitions.map((p) => [p.index, p.start, p.length]),
      expected,
    );
    assert.deepEqual(
      layout.partitions.map((p) => [p.index, p.fs, p.mapped]),
      [
        [1, 'ext', true],
        [2, 'swap', false],
        [5, 'fat', true],
        [6, 'unknown', false],
      ],
    );
    assert.equal(layout.warnings.length, 1);
    assert.match(
      layout.warnings[0]!,
      /^partition 6 \(Linux 0x83, bytes \d+–\d+\): no filesystem recognised; sent whole$/,
    );
    assertSameAsStandalone(layout, 1, 'ext4');
    assertSameAsStandalone(layout, 5, 'fat32');
    assertOutsideSent(layout);
    for (const i of [2, 6]) {
      const p = layout.partitions.find((x) => x.index === i)!;
      assert.ok(covers(layout.used, [[p.start, p.start + p.length]]), `partition ${i} sent whole`);
    }
    const headerOnly = await layoutOf(image, { swap: 'header' });
    const swap = headerOnly.partitions.find((x) => x.index === 2)!;
    assert.deepEqual(usedWithin(headerOnly.used, swap.start, swap.start + swap.length), [
      [swap.start, swap.start + 4096],
    ]);
    assert.equal(swap.mapped, true);

    const p1 = layout.partitions[0]!;
    const fh = await open(image, 'r+');
    await fh.write(Buffer.from([9, 0, 0, 0]), 0, 4, p1.start + 1024 + 0x18); // ext block size 512 KiB
    await fh.close();
    const broken = await layoutOf(image);
    assert.equal(broken.partitions[0]?.mapped, false);
    assert.ok(covers(broken.used, [[p1.start, p1.start + p1.length]]), 'partition 1 sent whole');
    assert.match(
      broken.warnings[0]!,
      /^partition 1 \(Linux 0x83, bytes .*\): ext superblock: block size .*; sent whole$/,
    );
    assertSameAsStandalone(broken, 5, 'fat32');
  });

  describe('GPT', () => {
    const gptArgs = (img: string) => [
      '-n',
      '1:1M:+40M',
      '-t',
      '1:8300',
      '-c',
      '1:root',
      '-n',
      '2:0:+24M',
      '-t',
      '2:0700',
      '-n',
      '3:0:+8M',
      '-t',
      '3:8200',
      '-n',
      '4:0:+1M',
      '-t',
      '4:ef02',
      img,
    ];
    let image = '';
    before(async () => {
      if (skip !== null) return;
      image = await makeDisk('gpt', 96, (img) => sh('sgdisk', ['-Z', '-o', ...gptArgs(img)]), [
        ['ext4', 1],
        ['ntfs', 41],
        ['swap', 65],
      ]);
    });

    test('two filesystems, a swap partition and a BIOS boot partition of unknown bytes', async (t) => {
      if (skip !== null) return t.skip(skip);
      const layout = await layoutOf(image);
      assert.equal(layout.table, 'gpt');
      assert.deepEqual(
        layout.partitions.map((p) => [p.index, p.typeName, p.fs, p.mapped, p.name ?? '']),
        [
          [1, 'Linux filesystem', 'ext', true, 'root'],
          [2, 'Microsoft basic data', 'ntfs', true, ''],
          [3, 'Linux swap', 'swap', false, ''],
          [4, 'BIOS boot', 'unknown', false, ''],
        ],
      );
      assert.equal(layout.warnings.length, 1);
      assert.match(
        layout.warnings[0]!,
        /^partition 4 \(BIOS boot 21686148-.*\): no filesystem recognised; sent whole$/,
      );
      assertSameAsStandalone(layout, 1, 'ext4');
      assertSameAsStandalone(layout, 2, 'ntfs');
      assertOutsideSent(layout);
      assert.ok(layout.usedBytes < layout.size / 2);
    });

    test('a damaged primary header is replaced by the backup; both damaged send the disk whole', async (t) => {
      if (skip !== null) return t.skip(skip);
      const good = await layoutOf(image);
      const fh = await open(image, 'r+');
      await fh.write(Buffer.from('X'), 0, 1, 512 + 60); // the disk GUID: inside the header's CRC'd bytes
      await fh.close();
      const fromBackup = await layoutOf(image);
      assert.deepEqual(fromBackup.partitions, good.partitions);
      assert.match(fromBackup.warnings[0]!, /GPT primary header unusable \(header CRC mismatch at LBA 1\)/);
      const fh2 = await open(image, 'r+');
      await fh2.write(Buffer.from('X'), 0, 1, fromBackup.size - 512 + 60);
      await fh2.close();
      const broken = await layoutOf(image);
      assert.deepEqual(broken.partitions, []);
      assert.deepEqual(broken.used, [[0, broken.size]]);
      assert.match(broken.warnings[0]!, /GPT partition table unreadable .*: disk sent whole/);
    });
  });

  test('a disk with no table and no filesystem is sent whole, with a warning', async () => {
    const image = join(dir, 'noise.img');
    await writeFile(image, noise(3 * MiB, 9));
    const layout = await layoutOf(image);
    assert.equal(layout.table, 'none');
    assert.deepEqual(layout.used, [[0, 3 * MiB]]);
    assert.match(layout.warnings[0]!, /the disk \(no partition table\): no filesystem recognised; sent whole/);
  });
});
