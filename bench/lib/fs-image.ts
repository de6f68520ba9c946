/**
 * Realistic master images for bench 6, built by the bench itself: an ext4 or NTFS filesystem of
 * `size` bytes holding real files copied from this machine (/usr/lib, /usr/share: libraries and
 * shared data), plus other real files written in between them and then deleted, so free space
 * holds stale bytes — a master disk after a round of updates. At 1 GiB: 360 MiB kept, 385 MiB
 * written and deleted (the image of issue 26); other sizes scale both.
 *
 * The file list is deterministic for a given machine (sorted walk, greedy split by bytes); mkfs
 * gets a fixed UUID / label. Each image is built once and cached under the cache folder, keyed by
 * filesystem, size and this module's version, with its Clonezilla image (`partclone.<fs> -c |
 * zstd -3`) and its figures beside it; a build in progress is written under a temporary name and
 * renamed at the end, so a failed build is never taken from the cache.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { progress } from './cascade.js';
import {
  filesDigest,
  pipeline,
  q,
  rangesDigest,
  sh,
  sumRanges,
  usedRanges,
  withMount,
  type FsKind,
  type Range,
} from './fs-tools.js';
import { mib } from './report.js';

/** Bump when the way images are built changes (a new key: old cached images are not reused). */
const VERSION = 2;
const KEEP_SHARE = 360 / 1024;
const DELETED_SHARE = 385 / 1024;
const SOURCES = ['/usr/lib', '/usr/share'];
/** Files larger than this are passed over (many mid-sized files, as on a system disk). */
const MAX_FILE = 32 * 2 ** 20;
const SLICE = 4 * 2 ** 20;
const BLOCK = 4096;
const UUID = '5ca1ab1e-cafe-4b1d-8eed-c0ffee000026';

export interface FsImage {
  fs: FsKind;
  /** The raw master image (a bare filesystem). */
  image: string;
  /** `partclone.<fs> -c -s image -o - | zstd -3`: what Clonezilla stores and multicasts. */
  pcZst: string;
  size: number;
  keptFiles: number;
  keptBytes: number;
  deletedFiles: number;
  deletedBytes: number;
  /** Bytes in 4 MiB slices that are not all zeros (what cascade sends today). */
  nonZeroSlices: number;
  /** Bytes in 4 KiB blocks that are not all zeros. */
  nonZeroBlocks: number;
  /** Bytes the filesystem uses (partclone --domain). */
  used: number;
  usedRanges: Range[];
  /** MD5 of the used ranges' bytes, in order. */
  usedDigest: string;
  /** Every file's MD5 under a read-only mount, as one digest (fs-tools filesDigest). */
  files: { digest: string; files: number };
  /** MD5 of the whole image. */
  md5: string;
  /** `zstd -3` of the raw image, bytes. */
  zstdRaw: number;
  /** Size of `pcZst`. */
  pcZstBytes: number;
  buildSeconds: number;
}

/** Where images are cached: $BENCH_IMAGE_DIR, else /var/tmp/cascade-bench-images (on disk, kept across runs). */
export function imageCacheDir(): string {
  return process.env.BENCH_IMAGE_DIR ?? '/var/tmp/cascade-bench-images';
}

/** The cached image of `fs` and `size`, building it first when absent. */
export async function realisticImage(fs: FsKind, size: number): Promise<FsImage> {
  const dir = imageCacheDir();
  await mkdir(dir, { recursive: true });
  const key = `${fs}-${Math.round(size / 2 ** 20)}MiB-v${VERSION}`;
  const info = join(dir, `${key}.json`);
  const cached = await readFile(info, 'utf8').then(
    (t) => JSON.parse(t) as FsImage,
    () => null,
  );
  if (cached && (await exists(cached.image)) && (await exists(cached.pcZst))) {
    progress(`bench 6: ${fs} image from the cache (${cached.image})`);
    return cached;
  }
  const t0 = performance.now();
  const image = join(dir, `${key}.img`);
  const tmp = `${image}.building`;
  try {
    const counts = await buildImage(fs, tmp, size, dir);
    await rename(tmp, image);
    const figures = await measureImage(fs, image, dir);
    const result: FsImage = { fs, image, size, ...counts, ...figures, buildSeconds: 0 };
    result.buildSeconds = (performance.now() - t0) / 1000;
    await writeFile(info, `${JSON.stringify(result, null, 1)}\n`);
    return result;
  } finally {
    await rm(tmp, { force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

interface PickedFile {
  path: string;
  size: number;
  deleted: boolean;
}

/**
 * Walk SOURCES in sorted order and take regular files (1 byte .. MAX_FILE) until both byte targets
 * are met. Files come in threes: the largest of each three is written and then deleted while the
 * deleted bytes are behind their target (in proportion to the kept bytes), else all three are kept;
 * so at most a third of the files are deleted, and kept and deleted files alternate on disk (the
 * deleted ones leave holes between kept ones).
 */
export async function pickFiles(keepBytes: number, deleteBytes: number): Promise<PickedFile[]> {
  const picked: PickedFile[] = [];
  let kept = 0;
  let deleted = 0;
  let three: PickedFile[] = [];
  const full = (): boolean => kept >= keepBytes && deleted >= deleteBytes;
  const settle = (): void => {
    const behind = deleted < deleteBytes && (deleted / deleteBytes <= kept / keepBytes || kept >= keepBytes);
    const largest = three.reduce((a, f) => (f.size > a.size ? f : a), three[0]!);
    for (const f of three) {
      f.deleted = behind && f === largest;
      if (f.deleted) deleted += f.size;
      else kept += f.size;
      picked.push(f);
    }
    three = [];
  };
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > 32 || full()) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (full()) return;
      const path = join(dir, e.name);
      if (e.isDirectory()) await walk(path, depth + 1);
      else if (e.isFile()) {
        const size = await stat(path).then(
          (s) => s.size,
          () => 0,
        );
        if (size < 1 || size > MAX_FILE) continue;
        three.push({ path, size, deleted: false });
        if (three.length === 3) settle();
      }
    }
  };
  for (const src of SOURCES) await walk(src, 0);
  if (!full()) throw new Error(`only ${mib(kept + deleted)} of files found under ${SOURCES.join(', ')} (wanted more)`);
  return picked;
}

async function buildImage(
  fs: FsKind,
  path: string,
  size: number,
  scratch: string,
): Promise<Pick<FsImage, 'keptFiles' | 'keptBytes' | 'deletedFiles' | 'deletedBytes'>> {
  const keepTarget = Math.round(size * KEEP_SHARE);
  const deleteTarget = Math.round(size * DELETED_SHARE);
  progress(`bench 6: building a ${mib(size)} ${fs} image: ${mib(keepTarget)} kept, ${mib(deleteTarget)} deleted`);
  const files = await pickFiles(keepTarget, deleteTarget);
  await rm(path, { force: true });
  await (await open(path, 'w')).close();
  await sh('truncate', ['-s', String(size), path]);
  if (fs === 'ext4')
    await sh(
      'mkfs.ext4',
      ['-q', '-F', '-L', 'master', '-U', UUID, '-E', `hash_seed=${UUID},lazy_itable_init=0,lazy_journal_init=0`, path],
      { E2FSPROGS_FAKE_TIME: '1764547200' },
    );
  else await sh('mkntfs', ['-q', '-F', '-f', '-L', 'master', path]);
  const list = join(scratch, `files-${process.pid}.lst`);
  await writeFile(list, files.map((f) => `${f.path.slice(1)}\0`).join(''));
  try {
    await withMount(fs, path, { readOnly: false, parent: scratch }, async (mnt) => {
      // One tar stream, kept and doomed files interleaved in walk order; then every byte on the
      // image (syncfs), then the deletions: their blocks are free but still hold their bytes.
      await pipeline(
        `tar -C / --null -T ${q(list)} --hard-dereference -cf - | tar -C ${q(mnt)} --no-same-owner --no-same-permissions -xf -`,
      );
      await sh('sync', ['-f', mnt]);
      for (const f of files) if (f.deleted) await rm(join(mnt, relative('/', f.path)), { force: true });
      await sh('sync', ['-f', mnt]);
    });
  } finally {
    await rm(list, { force: true });
  }
  const kept = files.filter((f) => !f.deleted);
  const gone = files.filter((f) => f.deleted);
  const sum = (xs: PickedFile[]): number => xs.reduce((a, f) => a + f.size, 0);
  return { keptFiles: kept.length, keptBytes: sum(kept), deletedFiles: gone.length, deletedBytes: sum(gone) };
}

/** The figures of a built image, and its Clonezilla image (`partclone.<fs> -c | zstd -3`). */
async function measureImage(
  fs: FsKind,
  image: string,
  scratch: string,
): Promise<
  Omit<FsImage, 'fs' | 'image' | 'size' | 'keptFiles' | 'keptBytes' | 'deletedFiles' | 'deletedBytes' | 'buildSeconds'>
> {
  progress(`bench 6: measuring the ${fs} image (zero blocks, used blocks, zstd -3, partclone | zstd -3)`);
  const ranges = await usedRanges(fs, image, scratch);
  const { nonZeroSlices, nonZeroBlocks, md5 } = await scanImage(image);
  const zstdRaw = Number((await pipeline(`zstd -3 -T0 -q -c ${q(image)} | wc -c`)).trim());
  const pcZst = `${image}.pc.zst`;
  const log = join(scratch, `partclone-${process.pid}.log`);
  await pipeline(`partclone.${fs} -q -c -s ${q(image)} -o - -L ${q(log)} | zstd -3 -T0 -q -f -o ${q(`${pcZst}.tmp`)}`);
  await rename(`${pcZst}.tmp`, pcZst);
  await rm(log, { force: true });
  const files = await withMount(fs, image, { readOnly: true, parent: scratch }, filesDigest);
  return {
    pcZst,
    nonZeroSlices,
    nonZeroBlocks,
    used: sumRanges(ranges),
    usedRanges: ranges,
    usedDigest: await rangesDigest(image, ranges),
    files,
    md5,
    zstdRaw,
    pcZstBytes: (await stat(pcZst)).size,
  };
}

/** Non-zero bytes by 4 MiB slice and by 4 KiB block, and the MD5 of the whole image, in one read. */
async function scanImage(image: string): Promise<{ nonZeroSlices: number; nonZeroBlocks: number; md5: string }> {
  const h = createHash('md5');
  const zero = Buffer.alloc(BLOCK);
  let nonZeroSlices = 0;
  let nonZeroBlocks = 0;
  for await (const chunk of createReadStream(image, { highWaterMark: SLICE })) {
    const b = chunk as Buffer;
    h.update(b);
    let any = false;
    for (let off = 0; off < b.length; off += BLOCK) {
      const block = b.subarray(off, Math.min(off + BLOCK, b.length));
      if (!block.equals(zero.subarray(0, block.length))) {
        nonZeroBlocks += block.length;
        any = true;
      }
    }
    if (any) nonZeroSlices += b.length;
  }
  return { nonZeroSlices, nonZeroBlocks, md5: h.digest('hex') };
}
