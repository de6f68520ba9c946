/**
 * Filesystem images for the end-to-end runs, built by code (mkfs + files copied + a third deleted,
 * so free space holds stale bytes), and the checks on a restored target: its used ranges equal the
 * image's, its filesystems pass fsck.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readDiskLayout, type ByteRange, type DiskLayout } from '@cascade/common';
import { blankImage, ddAt, fileReader, fsTools, sh } from '../packages/common/test/disk-fixtures.js';
import { noise } from '../packages/common/test/fixtures.js';

export { ddAt, fsTools, sh };
export const MiB = 1 << 20;

/** Files: mostly text-like (compress well), every fourth noise; sizes up to `maxKiB`. */
export async function labFiles(dir: string, count: number, maxKiB: number, seed: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const kib = 16 + ((i * 7919 + seed) % maxKiB);
    const body =
      i % 4 === 3
        ? noise(kib * 1024, seed * 100 + i + 1)
        : Buffer.from(`file ${i} of seed ${seed}: a line of a lab machine's files\n`.repeat(kib * 20));
    const name = `f${String(i).padStart(3, '0')}.txt`;
    await writeFile(join(dir, name), body.subarray(0, kib * 1024));
    names.push(name);
  }
  return names;
}

/** A file of `mib` MiB of stale noise (what free space holds on a used disk). */
export async function staleImage(path: string, mib: number, seed: number): Promise<void> {
  await blankImage(path, mib);
  const fh = await open(path, 'r+');
  try {
    for (let i = 0; i < mib; i++) await fh.write(noise(MiB, seed * 1000 + i), 0, MiB, i * MiB);
  } finally {
    await fh.close();
  }
}

/** An ext4 image over stale bytes: files copied in by mkfs, a third deleted with debugfs (their blocks keep their bytes). */
export async function ext4Image(dir: string, name: string, mib: number, seed: number): Promise<string> {
  const files = join(dir, `${name}-files`);
  const names = await labFiles(files, 36, 384, seed);
  const image = join(dir, `${name}.img`);
  await staleImage(image, mib, seed);
  await sh('mkfs.ext4', ['-q', '-F', '-E', 'nodiscard,lazy_itable_init=0,lazy_journal_init=0', '-d', files, image]);
  const gone = names.filter((_, i) => i % 3 === 1);
  await debugfs(
    image,
    gone.map((n) => `rm /${n}`),
  );
  return image;
}

/** Run debugfs commands on an unmounted ext image (writable). */
export async function debugfs(image: string, commands: string[]): Promise<void> {
  await sh('debugfs', ['-w', '-f', '-', image], commands.join('\n') + '\n');
}

/**
 * An NTFS image over stale bytes (mkntfs --fast leaves them), filled through an ntfs-3g mount, a
 * third of the files then deleted; null with the reason when FUSE mounts cannot work here.
 */
export async function ntfsImage(
  dir: string,
  name: string,
  mib: number,
  seed: number,
): Promise<string | { skip: string }> {
  try {
    await (await open('/dev/fuse', 'r+')).close();
  } catch (err) {
    return { skip: `no usable /dev/fuse for ntfs-3g (${(err as Error).message})` };
  }
  const files = join(dir, `${name}-files`);
  const names = await labFiles(files, 36, 256, seed);
  const image = join(dir, `${name}.img`);
  await staleImage(image, mib, seed);
  await sh('mkntfs', ['-q', '-F', '-f', '-L', name, image]);
  const mnt = join(dir, `${name}-mnt`);
  await mkdir(mnt, { recursive: true });
  await sh('ntfs-3g', [image, mnt]);
  try {
    for (const n of names) await copyFile(join(files, n), join(mnt, n));
    for (const n of names.filter((_, i) => i % 3 === 1)) await rm(join(mnt, n));
  } finally {
    await sh('umount', [mnt]);
  }
  return image;
}

/** The image's layout as the seeder maps it. */
export async function layoutOf(image: string): Promise<DiskLayout> {
  const src = await fileReader(image);
  try {
    return await readDiskLayout(src.read, src.size);
  } finally {
    await src.close();
  }
}

/** Every used range of `target` holds the image's bytes. */
export async function assertUsedEqual(
  image: string,
  target: string,
  used: readonly ByteRange[],
  who: string,
): Promise<void> {
  const a = await open(image, 'r');
  const b = await open(target, 'r');
  const ba = Buffer.alloc(4 * MiB);
  const bb = Buffer.alloc(4 * MiB);
  try {
    for (const [s, e] of used) {
      for (let at = s; at < e; at += ba.length) {
        const n = Math.min(ba.length, e - at);
        await a.read(ba, 0, n, at);
        const { bytesRead } = await b.read(bb, 0, n, at);
        assert.equal(bytesRead, n, `${who}: target short at ${at}`);
        assert.ok(ba.subarray(0, n).equals(bb.subarray(0, n)), `${who}: used bytes ${at}..${at + n} differ`);
      }
    }
  } finally {
    await a.close();
    await b.close();
  }
}

/** fsck in read-only mode passes on a filesystem image (exit 0). */
export async function assertFsck(kind: 'ext' | 'ntfs' | 'fat', image: string, who: string): Promise<void> {
  const [cmd, args] =
    kind === 'ext'
      ? ['e2fsck', ['-fn', image]]
      : kind === 'ntfs'
        ? ['ntfsfix', ['-n', image]]
        : ['fsck.vfat', ['-n', image]];
  await sh(cmd, args).catch((err: Error) => assert.fail(`${who}: ${cmd} failed: ${err.message.slice(0, 2000)}`));
}

/** The byte range of an NTFS volume's backup boot sector (its last sector), from the boot sector at `start`. */
export async function ntfsBackupBoot(image: string, start = 0): Promise<ByteRange> {
  const fh = await open(image, 'r');
  try {
    const boot = Buffer.alloc(512);
    await fh.read(boot, 0, 512, start);
    const sectors = Number(boot.readBigUInt64LE(0x28)); // the volume's sectors, less the backup
    const bytesPerSector = boot.readUInt16LE(0x0b);
    const at = start + sectors * bytesPerSector;
    return [at, at + bytesPerSector];
  } finally {
    await fh.close();
  }
}

/** Copy bytes `start`…`start + length` of `src` out to their own file (a partition, for fsck). */
export async function extract(src: string, dst: string, start: number, length: number): Promise<void> {
  await sh('dd', [
    `if=${src}`,
    `of=${dst}`,
    'bs=1M',
    `skip=${start}`,
    `count=${length}`,
    'iflag=skip_bytes,count_bytes',
    'status=none',
  ]);
}
