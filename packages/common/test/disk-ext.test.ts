import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rangesBytes } from '../src/disk/ranges.js';
import { blankImage, fsTools, makeFiles, partcloneUsed, restoreUsed, sh, toDelete, layoutOf } from './disk-fixtures.js';

let dir = '';
let skip: string | null = null;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-disk-ext-'));
  skip = await fsTools();
});
after(() => rm(dir, { recursive: true, force: true }));

/** An ext image from deterministic files, every third deleted afterwards with debugfs. */
async function makeExt(name: string, mib: number, mkfsArgs: string[]): Promise<{ image: string; kept: string[] }> {
  const src = join(dir, `${name}-files`);
  const names = await makeFiles(src, 60, 256, mib);
  const image = join(dir, `${name}.img`);
  await blankImage(image, mib);
  await sh('mkfs.ext4', ['-q', '-F', ...mkfsArgs, '-d', src, image]);
  const gone = toDelete(names);
  await writeFile(join(dir, `${name}.rm`), gone.map((n) => `rm /${n}\n`).join(''));
  await sh('debugfs', ['-w', '-f', join(dir, `${name}.rm`), image]);
  return { image, kept: names.filter((n) => !gone.includes(n)) };
}

const CONFIGS: [string, string[]][] = [
  ['ext4, 4 KiB blocks, flex_bg, BLOCK_UNINIT groups (512 MiB)', ['-t', 'ext4', '-b', '4096']],
  ['ext4, 1 KiB blocks', ['-t', 'ext4', '-b', '1024']],
  ['ext4 64bit with meta_bg, no flex_bg', ['-t', 'ext4', '-O', '64bit,meta_bg,^resize_inode,^flex_bg']],
  ['ext3', ['-t', 'ext3']],
  ['ext2 (no checksums: every bitmap read)', ['-t', 'ext2']],
];

describe('ext2/3/4 used-block map', () => {
  CONFIGS.forEach(([label, args], i) => {
    test(`${label}: equals partclone.extfs --domain, and the used ranges alone restore a clean filesystem`, async (t) => {
      if (skip !== null) return t.skip(skip);
      const { image, kept } = await makeExt(`e${i}`, i === 0 ? 512 : 64, args);
      const layout = await layoutOf(image);
      assert.equal(layout.table, 'none');
      assert.deepEqual(layout.warnings, []);
      const [part] = layout.partitions;
      assert.equal(part?.fs, 'ext');
      assert.equal(part?.mapped, true);
      const reference = await partcloneUsed('partclone.extfs', image, dir);
      assert.deepEqual(layout.used, reference);
      assert.ok(layout.usedBytes < layout.size / 2, 'free space is not sent');

      const restored = join(dir, `e${i}-restored.img`);
      await restoreUsed(image, restored, layout.used);
      await sh('e2fsck', ['-fn', restored]);
      const out = join(dir, `e${i}-out`);
      await sh('mkdir', ['-p', out]);
      await sh('debugfs', ['-R', `rdump / ${out}`, restored]);
      for (const n of kept) {
        assert.deepEqual(await readFile(join(out, n)), await readFile(join(dir, `e${i}-files`, n)), n);
      }
      const listing = await sh('debugfs', ['-R', 'ls -l /', restored]);
      assert.equal(listing.match(/f\d{3}\.bin/g)?.length, kept.length, 'deleted files stay deleted');
    });
  });

  test('a corrupted superblock falls back to the whole filesystem, with a warning naming it and why', async (t) => {
    if (skip !== null) return t.skip(skip);
    const { image } = await makeExt('bad-sb', 64, ['-t', 'ext4']);
    const fh = await open(image, 'r+');
    await fh.write(Buffer.from([9, 0, 0, 0]), 0, 4, 1024 + 0x18); // s_log_block_size = 9: 512 KiB blocks
    await fh.close();
    const layout = await layoutOf(image);
    assert.equal(layout.partitions[0]?.fs, 'ext');
    assert.equal(layout.partitions[0]?.mapped, false);
    assert.deepEqual(layout.used, [[0, layout.size]]);
    assert.equal(layout.warnings.length, 1);
    assert.match(layout.warnings[0]!, /the disk \(no partition table\): ext superblock: block size .*; sent whole/);
  });

  test('a block bitmap that frees its own group metadata is not trusted', async (t) => {
    if (skip !== null) return t.skip(skip);
    const { image } = await makeExt('bad-bitmap', 64, ['-t', 'ext2', '-b', '4096']);
    const before = await layoutOf(image);
    assert.equal(before.partitions[0]?.mapped, true);
    // group 0's block bitmap is the block after the descriptors: find it through the bitmap dump
    const stats = await sh('dumpe2fs', [image]);
    const m = /Block bitmap at (\d+)/.exec(stats);
    assert.ok(m, 'dumpe2fs names the block bitmap');
    const fh = await open(image, 'r+');
    await fh.write(Buffer.alloc(4096), 0, 4096, Number(m[1]) * 4096);
    await fh.close();
    const layout = await layoutOf(image);
    assert.equal(layout.partitions[0]?.mapped, false);
    assert.equal(rangesBytes(layout.used), layout.size);
    assert.match(layout.warnings[0]!, /block bitmap marks metadata block \d+ free; sent whole/);
  });

  test('a journal that needs recovery sends the filesystem whole', async (t) => {
    if (skip !== null) return t.skip(skip);
    const { image } = await makeExt('recover', 64, ['-t', 'ext4']);
    const fh = await open(image, 'r+');
    const incompat = Buffer.alloc(4);
    await fh.read(incompat, 0, 4, 1024 + 0x60);
    incompat.writeUInt32LE(incompat.readUInt32LE(0) | 0x4);
    await fh.write(incompat, 0, 4, 1024 + 0x60);
    await fh.close();
    const layout = await layoutOf(image);
    assert.equal(layout.partitions[0]?.mapped, false);
    assert.match(layout.warnings[0]!, /journal needs recovery/);
  });
});
