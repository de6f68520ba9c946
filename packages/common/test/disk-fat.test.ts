import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blankImage, fsTools, makeFiles, partcloneUsed, restoreUsed, sh, toDelete, layoutOf } from './disk-fixtures.js';

let dir = '';
let skip: string | null = null;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-disk-fat-'));
  skip = await fsTools();
});
after(() => rm(dir, { recursive: true, force: true }));

/** A FAT image from deterministic files (mcopy), every third deleted afterwards (mdel). */
async function makeFat(
  dir: string,
  name: string,
  mib: number,
  bits: 12 | 16 | 32,
): Promise<{ image: string; kept: string[]; src: string }> {
  const src = join(dir, `${name}-files`);
  const names = await makeFiles(src, bits === 12 ? 20 : 60, bits === 12 ? 64 : 256, mib + bits);
  const image = join(dir, `${name}.img`);
  await blankImage(image, mib);
  await sh('mkfs.vfat', ['-F', String(bits), ...(bits === 32 ? ['-s', '1'] : []), image]);
  await sh('mcopy', ['-i', image, ...names.map((n) => join(src, n)), '::/']);
  const gone = toDelete(names);
  await sh('mdel', ['-i', image, ...gone.map((n) => `::/${n}`)]);
  return { image, kept: names.filter((n) => !gone.includes(n)), src };
}

/** Bytes before the data area + used clusters + the tail no cluster covers, from `fsck.vfat -nv`. */
async function fsckUsedBytes(image: string, size: number): Promise<number> {
  const out = await sh('fsck.vfat', ['-nv', image]);
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? NaN);
  const data = num(/Data area starts at byte (\d+)/);
  const clusterSize = num(/(\d+) bytes per cluster/);
  const [used, total] = (/(\d+)\/(\d+) clusters/.exec(out) ?? []).slice(1).map(Number);
  return data + used! * clusterSize + (size - data - total! * clusterSize);
}

describe('FAT used-block map', () => {
  for (const [bits, mib] of [
    [32, 64],
    [16, 32],
    [12, 4],
  ] as const) {
    test(`FAT${bits}: equals ${bits === 12 ? "fsck.vfat's count" : `partclone.fat${bits} --domain`}, and the used ranges alone restore a clean filesystem`, async (t) => {
      if (skip !== null) return t.skip(skip);
      const { image, kept, src } = await makeFat(dir, `fat${bits}`, mib, bits);
      const layout = await layoutOf(image);
      assert.deepEqual(layout.warnings, []);
      assert.equal(layout.partitions[0]?.fs, 'fat');
      assert.equal(layout.partitions[0]?.detail, `FAT${bits}`);
      if (bits === 12) {
        // partclone.fat12 (0.3.23) misplaces FAT12 clusters (its ranges drift from the data area and
        // over-count by half): check against fsck.vfat's own count of used clusters instead.
        assert.equal(layout.usedBytes, await fsckUsedBytes(image, layout.size));
      } else {
        assert.deepEqual(layout.used, await partcloneUsed(`partclone.fat${bits}`, image, dir));
      }
      assert.ok(layout.usedBytes < layout.size * 0.8, 'free space is not sent');

      const restored = join(dir, `fat${bits}-restored.img`);
      await restoreUsed(image, restored, layout.used);
      await sh('fsck.vfat', ['-n', restored]);
      for (const n of kept) {
        const copy = join(dir, `fat${bits}-${n}`);
        await sh('mcopy', ['-n', '-i', restored, `::/${n}`, copy]);
        assert.deepEqual(await readFile(copy), await readFile(join(src, n)), n);
      }
      const listing = await sh('mdir', ['-b', '-i', restored, '::/']);
      assert.equal(listing.match(/F\d{3}\.BIN/gi)?.length, kept.length, 'deleted files stay deleted');
    });
  }

  test('a FAT whose first entry disagrees with the boot sector is sent whole, with a warning', async (t) => {
    if (skip !== null) return t.skip(skip);
    const { image } = await makeFat(dir, 'fat-bad', 64, 32);
    const fh = await open(image, 'r+');
    const boot = Buffer.alloc(512);
    await fh.read(boot, 0, 512, 0);
    await fh.write(Buffer.alloc(8), 0, 8, boot.readUInt16LE(0x0e) * 512); // zero FAT entries 0 and 1
    await fh.close();
    const layout = await layoutOf(image);
    assert.equal(layout.partitions[0]?.mapped, false);
    assert.deepEqual(layout.used, [[0, layout.size]]);
    assert.match(layout.warnings[0]!, /FAT entry 0 .* does not match the boot sector; sent whole/);
  });
});
