import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { complementRanges, usedWithin } from '../src/disk/ranges.js';
import {
  blankImage,
  covers,
  fsTools,
  makeFiles,
  partcloneUsed,
  restoreUsed,
  sh,
  toDelete,
  layoutOf,
} from './disk-fixtures.js';

let dir = '';
let skip: string | null = null;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-disk-ntfs-'));
  skip = await fsTools();
});
after(() => rm(dir, { recursive: true, force: true }));

/** An NTFS image (mkntfs) filled through an ntfs-3g FUSE mount, every third file then deleted. */
async function makeNtfs(name: string, mib: number): Promise<{ image: string; kept: string[]; src: string }> {
  const src = join(dir, `${name}-files`);
  const names = await makeFiles(src, 60, 256, mib + 3);
  const image = join(dir, `${name}.img`);
  await blankImage(image, mib);
  await sh('mkntfs', ['-q', '-F', '-f', '-L', name, image]);
  const mnt = join(dir, `${name}-mnt`);
  await mkdir(mnt);
  await sh('ntfs-3g', [image, mnt]);
  try {
    for (const n of names) await copyFile(join(src, n), join(mnt, n));
    for (const n of toDelete(names)) await rm(join(mnt, n));
  } finally {
    await sh('umount', [mnt]);
  }
  const gone = toDelete(names);
  return { image, kept: names.filter((n) => !gone.includes(n)), src };
}

/** Why FUSE mounts cannot work here, or null. */
async function fuseMissing(): Promise<string | null> {
  try {
    await (await open('/dev/fuse', 'r+')).close();
    return null;
  } catch (err) {
    return `no usable /dev/fuse for ntfs-3g (${(err as Error).message})`;
  }
}

describe('NTFS used-block map', () => {
  test('equals partclone.ntfs --domain plus the backup boot sector, and restores a clean volume', async (t) => {
    const reason = skip ?? (await fuseMissing());
    if (reason !== null) return t.skip(reason);
    const { image, kept, src } = await makeNtfs('n1', 96);
    const layout = await layoutOf(image);
    assert.deepEqual(layout.warnings, []);
    assert.equal(layout.partitions[0]?.fs, 'ntfs');
    const reference = await partcloneUsed('partclone.ntfs', image, dir);
    // partclone's map ends at the last whole cluster; the tail after it holds the backup boot
    // sector, which this map sends too (ntfsfix and Windows check it). That is the only difference.
    assert.ok(covers(layout.used, reference), 'a superset of partclone');
    const tail = complementRanges(reference, 0, layout.size).flatMap(([s, e]) => usedWithin(layout.used, s, e));
    assert.equal(tail.length, 1);
    assert.equal(tail[0]![1], layout.size);
    assert.ok(tail[0]![1] - tail[0]![0] <= 4096, 'the difference is at most one cluster at the end');
    assert.ok(layout.usedBytes < layout.size * 0.8, 'free space is not sent');

    const restored = join(dir, 'n1-restored.img');
    await restoreUsed(image, restored, layout.used);
    await sh('ntfsfix', ['-n', restored]);
    for (const n of kept) {
      const copy = join(dir, `n1-${n}`);
      await sh('sh', ['-c', `ntfscat "$0" "$1" > "$2"`, restored, n, copy]);
      assert.deepEqual(await readFile(copy), await readFile(join(src, n)), n);
    }
    const listing = await sh('ntfsls', [restored]);
    assert.equal(listing.match(/f\d{3}\.bin/g)?.length, kept.length, 'deleted files stay deleted');
  });

  test('a $Bitmap record that is not a FILE record sends the volume whole, with a warning', async (t) => {
    const reason = skip ?? (await fuseMissing());
    if (reason !== null) return t.skip(reason);
    const image = join(dir, 'n2.img');
    await blankImage(image, 16);
    await sh('mkntfs', ['-q', '-F', '-f', image]);
    const fh = await open(image, 'r+');
    const boot = Buffer.alloc(512);
    await fh.read(boot, 0, 512, 0);
    const cluster = boot.readUInt16LE(0x0b) * boot.readUInt8(0x0d);
    const mft = Number(boot.readBigUInt64LE(0x30)) * cluster;
    await fh.write(Buffer.from('BAAD'), 0, 4, mft + 6 * 1024); // record 6 ($Bitmap), 1 KiB records
    await fh.close();
    const layout = await layoutOf(image);
    assert.equal(layout.partitions[0]?.fs, 'ntfs');
    assert.equal(layout.partitions[0]?.mapped, false);
    assert.deepEqual(layout.used, [[0, layout.size]]);
    assert.match(layout.warnings[0]!, /NTFS \$Bitmap record: no FILE record magic; sent whole/);
  });
});
