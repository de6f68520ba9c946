/**
 * The used-block map against partclone, on realistic images it builds itself (not part of
 * `npm run bench`; root, scripts/install-fs-tools.sh, and a FUSE mount for NTFS):
 *
 *   node --import tsx bench/disk-map.ts [--size-mib 1024] [--files /usr/share/doc] [--dir /tmp]
 *
 * For an ext4 image (mkfs.ext4 -d) and an NTFS image (mkntfs + ntfs-3g), each filled with the
 * files and then a third of them deleted: time of `readDiskLayout` (median of 5, warm cache)
 * against `partclone.<fs> --domain`, used bytes of each, and the size of the encoded used map.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { rangesBytes, readDiskLayout, UsedMap, type ByteRange } from '@cascade/common';

const run = promisify(execFile);
const sh = async (cmd: string, args: string[]): Promise<string> =>
  (await run(cmd, args, { maxBuffer: 256 << 20 })).stdout;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

async function deleteThird(root: string, rmOne: (rel: string) => Promise<void>): Promise<void> {
  const files = (await sh('find', [root, '-type', 'f'])).split('\n').filter((f) => f !== '');
  for (const f of files.filter((_, i) => i % 3 === 2)) await rmOne(f.slice(root.length));
}

async function makeExt(image: string, files: string, mib: number, dir: string): Promise<void> {
  await writeFile(image, '');
  await truncate(image, mib << 20);
  await sh('mkfs.ext4', ['-q', '-F', '-d', files, image]);
  const cmds: string[] = [];
  await deleteThird(files, async (rel) => void cmds.push(`rm "${rel}"`));
  await writeFile(join(dir, 'rm.cmd'), cmds.join('\n'));
  await sh('debugfs', ['-w', '-f', join(dir, 'rm.cmd'), image]);
}

async function makeNtfs(image: string, files: string, mib: number, dir: string): Promise<void> {
  await writeFile(image, '');
  await truncate(image, mib << 20);
  await sh('mkntfs', ['-q', '-F', '-f', image]);
  const mnt = join(dir, 'mnt');
  await mkdir(mnt, { recursive: true });
  await sh('ntfs-3g', [image, mnt]);
  try {
    await sh('cp', ['-r', files, mnt]).catch(() => ''); // a full volume is fine
    await deleteThird(mnt, (rel) => rm(join(mnt, rel), { force: true }));
  } finally {
    await sh('umount', [mnt]);
  }
}

async function partclone(tool: string, image: string, dir: string): Promise<{ ms: number; used: ByteRange[] }> {
  const map = join(dir, 'domain.map');
  const t0 = performance.now();
  await sh(tool, ['-s', image, '-O', map, '--domain', '-L', join(dir, 'partclone.log')]);
  const ms = performance.now() - t0;
  const used: ByteRange[] = [];
  for (const line of (await readFile(map, 'utf8')).split('\n')) {
    const m = /^(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+\+/i.exec(line);
    if (m) used.push([Number(m[1]), Number(m[1]) + Number(m[2])]);
  }
  return { ms, used };
}

async function measure(name: string, image: string, tool: string, dir: string): Promise<string> {
  const fh = await open(image, 'r');
  const size = (await fh.stat()).size;
  const read = async (o: number, n: number): Promise<Buffer> => {
    const b = Buffer.alloc(n);
    return b.subarray(0, (await fh.read(b, 0, n, o)).bytesRead);
  };
  const times: number[] = [];
  let layout = await readDiskLayout(read, size);
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    layout = await readDiskLayout(read, size);
    times.push(performance.now() - t0);
  }
  await fh.close();
  const pc = await partclone(tool, image, dir);
  const median = times.sort((a, b) => a - b)[2]!;
  const mib = (n: number): string => (n / 2 ** 20).toFixed(2);
  return [
    name,
    layout.partitions[0]?.detail ?? '?',
    `${median.toFixed(1)} ms`,
    `${pc.ms.toFixed(0)} ms`,
    mib(layout.usedBytes),
    mib(rangesBytes(pc.used)),
    String(layout.usedBytes - rangesBytes(pc.used)),
    String(layout.used.length),
    String(Buffer.from(UsedMap.fromRanges(layout.used, size).encode(), 'base64').length),
  ].join(' | ');
}

async function main(): Promise<void> {
  const mib = Number(arg('size-mib', '1024'));
  const files = arg('files', '/usr/share/doc');
  const dir = await mkdtemp(join(arg('dir', '/tmp'), 'cascade-disk-map-'));
  try {
    const rows = ['image | fs | map | partclone --domain | used MiB | partclone MiB | extra bytes | runs | map bytes'];
    const copy = join(dir, 'files');
    await sh('cp', ['-r', files, copy]);
    await makeExt(join(dir, 'ext4.img'), copy, mib, dir);
    rows.push(await measure(`ext4 ${mib} MiB`, join(dir, 'ext4.img'), 'partclone.extfs', dir));
    await makeNtfs(join(dir, 'ntfs.img'), files, mib, dir);
    rows.push(await measure(`NTFS ${mib} MiB`, join(dir, 'ntfs.img'), 'partclone.ntfs', dir));
    process.stdout.write(`${rows.join('\n')}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
