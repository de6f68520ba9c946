/**
 * target/ — the disk or file the image is written to: checks before use (target-in-use.ts),
 * opening, positional writes and flushing (this file), accounting for what it already holds
 * (account-target.ts), and the part the peer is given (file-target.ts).
 */
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CascadeError, sizeOf, type Manifest, type PayloadPiece } from '@cascade/common';
import { assertTargetFree } from './target-in-use.js';

export interface OpenedTarget {
  fh: FileHandle;
  path: string;
  blockDevice: boolean;
  /** Bytes available (device size, or the file's size after preparing it). */
  size: number;
  /** True when the region the image covers was known to read as zeros before we wrote anything. */
  zeroFilled: boolean;
  /** Flushes what is written as it goes (writeSlice feeds it; syncTarget waits for it). */
  flusher?: Flusher;
}

/** Bytes written after which a flush of the target starts in the background. */
export const FLUSH_EVERY_BYTES = 64 * 1024 * 1024;

/**
 * Flushes a target while it is being written: each time FLUSH_EVERY_BYTES more have been written,
 * an fdatasync starts in the background (one at a time), so the disk writes while the network
 * still delivers and the sync before `done` only has the last stretch left, not the whole image
 * (a machine with much memory otherwise holds most of a big image unwritten until then), and
 * the memory held by written-but-unflushed pages stays small. A failed flush fails the next
 * write and the final sync.
 */
export class Flusher {
  private dirty = 0;
  private running: Promise<void> | null = null;
  private failure: Error | null = null;
  /** Background flushes started (tests). */
  started = 0;

  constructor(
    private readonly fh: Pick<FileHandle, 'datasync'>,
    private readonly every = FLUSH_EVERY_BYTES,
  ) {}

  wrote(bytes: number): void {
    this.dirty += bytes;
    if (this.dirty < this.every || this.running) return;
    this.dirty = 0;
    this.started++;
    this.running = this.fh
      .datasync()
      .catch((err: unknown) => void (this.failure ??= err instanceof Error ? err : new Error(String(err))))
      .finally(() => void (this.running = null));
  }

  /** Throws the first flush that failed (a failing disk stops the writes at the next slice). */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /** Wait for the flush in progress; throws the first flush that failed. */
  async settle(): Promise<void> {
    await this.running;
    if (this.failure) throw this.failure;
  }
}

function unusable(path: string, what: string, err?: unknown): CascadeError {
  const why = err instanceof Error ? `: ${err.message}` : '';
  return new CascadeError('ERR_TARGET_UNUSABLE', `target ${path}: ${what}${why}`, { cause: err });
}

/** Where a path really points (its folder resolved when the path itself does not exist). */
async function resolvedPath(path: string): Promise<string> {
  const abs = resolve(path);
  const full = await realpath(abs).catch(() => null);
  if (full) return full;
  const dir = await realpath(dirname(abs)).catch(() => dirname(abs));
  return join(dir, basename(abs));
}

/**
 * A target under /dev must be an existing block device: a mistyped disk name must never become
 * a regular file on devtmpfs (in RAM) that "succeeds", nor a character device be written to.
 * Throws ERR_TARGET_UNUSABLE; anything outside /dev passes. Call it before any work starts.
 */
export async function checkDeviceTarget(path: string): Promise<void> {
  const full = await resolvedPath(path);
  if (full !== '/dev' && !full.startsWith('/dev/')) return;
  const st = await stat(full).catch(() => null);
  if (!st) throw unusable(path, 'no such device (a target under /dev must be an existing block device)');
  if (!st.isBlockDevice()) throw unusable(path, 'not a block device (a target under /dev must be a block device)');
}

/**
 * What can be told of a target before any session: it is not a folder, and a file that does not
 * exist yet has a folder to be created in. Throws ERR_TARGET_UNUSABLE, so a mistyped path fails at
 * startup (exit 3) instead of after the machine joined and the session may have ended.
 */
export async function checkTargetPlace(path: string): Promise<void> {
  const st = await stat(path).catch(() => null);
  if (st?.isDirectory()) throw unusable(path, 'is a directory');
  if (st) return;
  const dir = await stat(dirname(resolve(path))).catch(() => null);
  if (!dir?.isDirectory()) throw unusable(path, `folder ${dirname(resolve(path))} does not exist`);
}

/**
 * Open the target for positional writes — a file (created and sized to the image, no temporary
 * copy) or a block device (its size read from the device; too small is refused). A device that
 * is mounted or holds the running system is refused unless `force` is set.
 */
export async function openTarget(
  path: string,
  manifest: Manifest,
  opts: { force?: boolean } = {},
): Promise<OpenedTarget> {
  await checkDeviceTarget(path);
  await assertTargetFree(path, opts.force);
  let fh: FileHandle;
  try {
    fh = await open(path, 'r+').catch(async (err: NodeJS.ErrnoException) => {
      // 'wx': never replace something that appeared since (and never create under /dev: checked above)
      if (err.code === 'ENOENT') return open(path, 'wx+');
      throw err;
    });
  } catch (err) {
    throw unusable(path, 'cannot open for writing', err);
  }
  try {
    const { size, blockDevice } = await sizeOf(fh, path);
    if (blockDevice) {
      if (size < manifest.size) {
        throw new CascadeError(
          'ERR_TARGET_TOO_SMALL',
          `target ${path} holds ${size} bytes; the image needs ${manifest.size}`,
        );
      }
      return { fh, path, blockDevice, size, zeroFilled: false, flusher: new Flusher(fh) };
    }
    const zeroFilled = size === 0;
    if (size !== manifest.size) await fh.truncate(manifest.size);
    return { fh, path, blockDevice, size: manifest.size, zeroFilled, flusher: new Flusher(fh) };
  } catch (err) {
    await fh.close().catch(() => undefined);
    if (err instanceof CascadeError) throw err;
    throw unusable(path, 'cannot prepare', err);
  }
}

/** Write a slice (as received chunks) at its position; retries short writes. */
export async function writeSlice(t: OpenedTarget, position: number, chunks: readonly Buffer[]): Promise<void> {
  const length = chunks.reduce((n, c) => n + c.length, 0);
  if (!Number.isSafeInteger(position) || position < 0 || position + length > t.size) {
    // Never write outside the target, whatever a manifest or a bug says.
    throw unusable(t.path, `refusing a write of ${length} bytes at ${position}, outside its ${t.size} bytes`);
  }
  try {
    t.flusher?.check();
    let pending = chunks.slice();
    let pos = position;
    while (pending.length > 0) {
      const { bytesWritten } = await t.fh.writev(pending, pos);
      pos += bytesWritten;
      pending = dropWritten(pending, bytesWritten);
    }
    t.flusher?.wrote(length);
  } catch (err) {
    throw unusable(t.path, `write at byte ${position} failed`, err);
  }
}

/**
 * Write a slice's payload (as received or decompressed chunks) where its pieces land in the
 * image: one positional write per piece, never across the unused gaps between them (a file stays
 * sparse there; a block device keeps its old free-space bytes).
 */
export async function writePayload(
  t: OpenedTarget,
  pieces: readonly PayloadPiece[],
  chunks: readonly Buffer[],
): Promise<void> {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const last = pieces[pieces.length - 1];
  const expected = last ? last.payloadOffset + last.length : 0;
  if (total !== expected) throw unusable(t.path, `refusing a payload of ${total} bytes for pieces of ${expected}`);
  for (const p of pieces) await writeSlice(t, p.position, payloadRange(chunks, p.payloadOffset, p.length));
}

/** The bytes `from` … `from + length` of a payload given as chunks, as subarrays (no copy). */
export function payloadRange(chunks: readonly Buffer[], from: number, length: number): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  const end = from + length;
  for (const c of chunks) {
    const cEnd = at + c.length;
    if (cEnd > from && at < end) out.push(c.subarray(Math.max(0, from - at), Math.min(c.length, end - at)));
    at = cEnd;
    if (at >= end) break;
  }
  return out;
}

function dropWritten(chunks: Buffer[], n: number): Buffer[] {
  let left = n;
  const out: Buffer[] = [];
  for (const c of chunks) {
    if (left >= c.length) {
      left -= c.length;
      continue;
    }
    out.push(left > 0 ? c.subarray(left) : c);
    left = 0;
  }
  return out;
}

/** Flush everything written to stable storage (before `done` is reported). */
export async function syncTarget(t: OpenedTarget): Promise<void> {
  try {
    await t.flusher?.settle();
    await t.fh.sync();
  } catch (err) {
    throw unusable(t.path, 'flush failed', err);
  }
}
