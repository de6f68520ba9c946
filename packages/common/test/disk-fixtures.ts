/**
 * Disk-image fixtures for the disk-map tests, made by code in a temp dir: filesystems built with
 * mkfs (populated from deterministic files, some then deleted so free space holds stale bytes),
 * partclone's domain map as the reference, and a restore of only the used ranges onto a sparse file.
 */
import { execFile } from 'node:child_process';
import { mkdir, open, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ByteRange } from '../src/disk/ranges.js';
import type { ReadAt } from '../src/disk/read-source.js';
import { readDiskLayout, type DiskLayout, type DiskLayoutOptions } from '../src/disk/disk-layout.js';
import { noise } from './fixtures.js';

const run = promisify(execFile);
const ROOT = new URL('../../../', import.meta.url).pathname;

/** Run a command; resolves with stdout, rejects with its stderr in the message. */
export async function sh(cmd: string, args: string[], input?: string): Promise<string> {
  if (input !== undefined) {
    return new Promise((resolve, reject) => {
      const child = execFile(cmd, args, (err, stdout, stderr) =>
        err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
      );
      child.stdin?.end(input);
    });
  }
  try {
    return (await run(cmd, args, { maxBuffer: 64 << 20 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr || e.message}`);
  }
}

let toolsReason: Promise<string | null> | undefined;

/** Install the fs tools once (scripts/install-fs-tools.sh); null when ready, else why not. */
export function fsTools(): Promise<string | null> {
  toolsReason ??= sh('sh', [join(ROOT, 'scripts/install-fs-tools.sh')]).then(
    () => null,
    (err: Error) => `filesystem tools unavailable: ${err.message.trim().split('\n').pop()}`,
  );
  return toolsReason;
}

/** A read function over a file, and a way to close it. */
export async function fileReader(path: string): Promise<{ read: ReadAt; size: number; close: () => Promise<void> }> {
  const fh = await open(path, 'r');
  const size = (await fh.stat()).size;
  const read: ReadAt = async (offset, length) => {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  };
  return { read, size, close: () => fh.close() };
}

/** Deterministic files: `count` of them, sizes 1 KiB…`maxKiB`, half noise, half text-like. */
export async function makeFiles(dir: string, count: number, maxKiB: number, seed: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const kib = 1 + ((i * 7919 + seed) % maxKiB);
    const body =
      i % 2 ? noise(kib * 1024, seed * 100 + i + 1) : Buffer.from(`line ${i} of seed ${seed}\n`.repeat(kib * 40));
    const name = `f${String(i).padStart(3, '0')}.bin`;
    await writeFile(join(dir, name), body.subarray(0, kib * 1024));
    names.push(name);
  }
  return names;
}

/** Names to delete from a `makeFiles` set: every third file. */
export const toDelete = (names: string[]): string[] => names.filter((_, i) => i % 3 === 1);

/** partclone.<fs> --domain: its ddrescue-style map, '+' (rescued) lines as used ranges. */
export async function partcloneUsed(tool: string, image: string, dir: string): Promise<ByteRange[]> {
  const map = join(dir, `${tool}.map`);
  await sh(tool, ['-s', image, '-O', map, '--domain', '-L', join(dir, `${tool}.log`)]);
  return parseDomainMap(await readFile(map, 'utf8'));
}

/** Parse a ddrescue map: `pos size status` lines (hex), '+' = used; comments and the status line skipped. */
export function parseDomainMap(text: string): ByteRange[] {
  const out: ByteRange[] = [];
  for (const line of text.split('\n')) {
    const m = /^(0x[0-9a-fA-F]+)\s+(0x[0-9a-fA-F]+)\s+([?*/\-+])\s*$/.exec(line.trim());
    if (m && m[3] === '+') out.push([Number(m[1]), Number(m[1]) + Number(m[2])]);
  }
  return out;
}

/** Copy only `used` from `src` onto a new sparse file of the same size (free space reads as zeros). */
export async function restoreUsed(src: string, dst: string, used: readonly ByteRange[]): Promise<void> {
  const from = await open(src, 'r');
  await writeFile(dst, '');
  const size = (await from.stat()).size;
  await truncate(dst, size);
  const to = await open(dst, 'r+');
  const buf = Buffer.alloc(1 << 20);
  try {
    for (const [s, e] of used) {
      for (let at = s; at < e; at += buf.length) {
        const n = Math.min(buf.length, e - at);
        await from.read(buf, 0, n, at);
        await to.write(buf, 0, n, at);
      }
    }
  } finally {
    await from.close();
    await to.close();
  }
}

/** Make an empty image file of `mib` MiB. */
export async function blankImage(path: string, mib: number): Promise<void> {
  await writeFile(path, '');
  await truncate(path, mib << 20);
}

/** dd `src` into `dst` at byte `offset` without truncating it. */
export async function ddAt(src: string, dst: string, offset: number): Promise<void> {
  await sh('dd', [
    `if=${src}`,
    `of=${dst}`,
    'bs=1M',
    `seek=${offset}`,
    'oflag=seek_bytes',
    'conv=notrunc',
    'status=none',
  ]);
}

/** True when `a` covers every byte of `b` (both normal lists). */
export function covers(a: readonly ByteRange[], b: readonly ByteRange[]): boolean {
  let i = 0;
  for (const [s, e] of b) {
    while (i < a.length && a[i]![1] <= s) i++;
    if (i >= a.length || a[i]![0] > s || a[i]![1] < e) return false;
  }
  return true;
}

/** The used-block map of an image file. */
export async function layoutOf(image: string, options?: DiskLayoutOptions): Promise<DiskLayout> {
  const src = await fileReader(image);
  try {
    return await readDiskLayout(src.read, src.size, options);
  } finally {
    await src.close();
  }
}
