import { open } from 'node:fs/promises';
import type { FsImage } from '../lib/fs-image.js';
import { filesDigest, fsckProblem, rangesDigest, sumRanges, usedRanges, withMount } from '../lib/fs-tools.js';
import { mib } from '../lib/report.js';

/**
 * Is `target` a correct restore of `source`? Every check that fails adds a line:
 * - `fsck -n` (e2fsck -fn / ntfsfix -n) passes;
 * - `partclone.<fs> --domain` of the target lists the same used ranges as the source's;
 * - the bytes of those ranges have the same MD5 (a read-back of every used block);
 * - with `files`: every file's MD5 through a read-only mount equals the source's (one digest
 *   over all files, sorted by path).
 */
export async function restoreProblems(
  source: FsImage,
  target: string,
  scratch: string,
  files: boolean,
): Promise<string[]> {
  const problems: string[] = [];
  const fsck = await fsckProblem(source.fs, target);
  if (fsck) problems.push(fsck + (await lastSectorNote(source, target)));
  const ranges = await usedRanges(source.fs, target, scratch).catch((err: Error) => {
    problems.push(`used-block map unreadable: ${err.message}`);
    return null;
  });
  if (!ranges) return problems;
  const same =
    ranges.length === source.usedRanges.length &&
    ranges.every((r, i) => r.pos === source.usedRanges[i]!.pos && r.size === source.usedRanges[i]!.size);
  if (!same)
    problems.push(
      `used blocks differ: ${ranges.length} ranges / ${mib(sumRanges(ranges))} vs the source's ${source.usedRanges.length} / ${mib(source.used)}`,
    );
  else if ((await rangesDigest(target, ranges).catch(() => 'unreadable')) !== source.usedDigest)
    problems.push('used blocks hold other bytes than the source (MD5 of the used ranges differs)');
  if (files) {
    const got = await withMount(source.fs, target, { readOnly: true, parent: scratch }, filesDigest).catch(
      (err: Error) => ({ digest: `mount failed: ${err.message}`, files: 0 }),
    );
    if (got.digest !== source.files.digest)
      problems.push(`files differ: ${got.files} files (${got.digest}) vs the source's ${source.files.files}`);
  }
  return problems;
}

/** Problems as one short line per target (the first two of each). */
export function describeProblems(name: string, problems: string[]): string {
  return `${name}: ${problems.slice(0, 2).join('; ')}${problems.length > 2 ? ` (+${problems.length - 2} more)` : ''}`;
}

/**
 * An NTFS volume keeps a copy of its boot sector in the partition's last sector, outside every
 * cluster (so outside partclone.ntfs's map: partclone issues #54, #69). When the target's last
 * sector differs from the source's, say so: ntfsfix -n then reports the alternate boot sector BAD.
 */
async function lastSectorNote(source: FsImage, target: string): Promise<string> {
  if (source.fs !== 'ntfs') return '';
  const last = async (path: string): Promise<Buffer> => {
    const fh = await open(path, 'r');
    try {
      const b = Buffer.alloc(512);
      await fh.read(b, 0, 512, source.size - 512);
      return b;
    } finally {
      await fh.close();
    }
  };
  const [a, b] = await Promise.all([last(source.image), last(target)]).catch(() => [null, null]);
  if (!a || !b || a.equals(b)) return '';
  const zeros = b.every((x) => x === 0);
  return ` — the volume's last sector (the alternate boot sector, outside the used-block map) ${zeros ? 'is zeros' : 'differs'} on the target`;
}
