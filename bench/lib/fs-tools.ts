/**
 * Filesystem helpers for bench 6 (realistic images): running the Debian tools (mkfs.ext4, mkntfs,
 * ntfs-3g, partclone, zstd, e2fsck, ntfsfix), mounting an image file (ext4 through a loop mount,
 * NTFS through ntfs-3g FUSE) with an unmount that always runs, and reading partclone's used-block
 * maps. Every mount this module makes is unmounted by its `withMount` even on failure, and lazily
 * (synchronously) if the process is interrupted or exits while one is still mounted.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type FsKind = 'ext4' | 'ntfs';
export const FS_KINDS: FsKind[] = ['ext4', 'ntfs'];

/** The programs each filesystem's rows need (partclone.<fs> for the Clonezilla row and the maps). */
const TOOLS: Record<FsKind, string[]> = {
  ext4: ['mkfs.ext4', 'e2fsck', 'mount', 'umount', 'partclone.ext4', 'zstd', 'tar'],
  ntfs: ['mkntfs', 'ntfs-3g', 'ntfsfix', 'umount', 'partclone.ntfs', 'zstd', 'tar'],
};

/** Why images of `fs` cannot be built and checked here, or null when they can. */
export function fsToolsMissing(fs: FsKind): string | null {
  if (process.getuid?.() !== 0) return `${fs}: skipped — building and mounting images needs root`;
  const missing = TOOLS[fs].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0);
  if (fs === 'ntfs' && spawnSync('test', ['-c', '/dev/fuse']).status !== 0) missing.push('/dev/fuse');
  return missing.length > 0
    ? `${fs}: skipped — ${missing.join(', ')} not available (scripts/bench-tools.sh installs them)`
    : null;
}

/** Programs running now (each in its own process group), stopped by the exit/signal sweep. */
const running = new Set<number>();

/**
 * Run a program in a process group of its own (a pipeline's every process with it); resolves with
 * stdout, rejects with its stderr's last lines. If this process exits or is interrupted meanwhile,
 * the whole group gets SIGTERM (installHandlers).
 */
export function sh(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  installHandlers();
  return new Promise((resolve, reject) => {
    const opts = { maxBuffer: 64 * 2 ** 20, detached: true, ...(env ? { env: { ...process.env, ...env } } : {}) };
    const child = execFile(cmd, args, opts, (err, stdout, stderr) => {
      if (child.pid !== undefined) running.delete(child.pid);
      if (!err) return resolve(stdout);
      const tail = (stderr || stdout || err.message).trim().split('\n').slice(-3).join(' | ');
      reject(new Error(`${cmd} ${args.join(' ')}: ${tail}`));
    });
    if (child.pid !== undefined) running.add(child.pid);
  });
}

/** Single-quote a word for bash. */
export function q(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Run a bash pipeline with pipefail; resolves with stdout. */
export function pipeline(script: string): Promise<string> {
  return sh('bash', ['-o', 'pipefail', '-c', script]);
}

// ---- mounts -------------------------------------------------------------------------------

const mounted = new Set<string>();
let handlersInstalled = false;

/** On exit or a signal, lazily unmount what is still mounted (synchronously: nothing async runs then). */
function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const sweep = (): void => {
    for (const pid of running) {
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    running.clear();
    for (const dir of mounted) spawnSync('umount', ['-l', dir], { stdio: 'ignore' });
    mounted.clear();
  };
  process.on('exit', sweep);
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.on(sig, () => {
      sweep();
      // The lab's own handler (NetLab) exits after deleting its namespaces; without one, exit here.
      if (process.listenerCount(sig) <= 1) process.exit(130);
    });
}

/**
 * Lazily unmount `dir` if the process exits or is interrupted while it is still mounted (e.g. the
 * run's tmpfs); `release()` once it has been unmounted the ordinary way.
 */
export function unmountOnExit(dir: string): { release: () => void } {
  installHandlers();
  mounted.add(dir);
  return { release: () => void mounted.delete(dir) };
}

/**
 * Mount `image` (a filesystem image file) on a fresh folder, run `fn` with that folder, unmount
 * (retrying while busy, then lazily) and remove the folder, whatever `fn` did. ext4: a loop mount
 * (`nodiscard`: deleting files must leave their bytes, as on a real disk; read-only: `noload`, so
 * no journal replay writes); NTFS: ntfs-3g in the foreground (`no_detach`), so the unmount is
 * complete when its process has exited.
 */
export async function withMount<T>(
  fs: FsKind,
  image: string,
  opts: { readOnly: boolean; parent: string },
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  installHandlers();
  const dir = await mkdtemp(join(opts.parent, `mnt-${fs}-`));
  let ntfs3g: ReturnType<typeof spawn> | null = null;
  let ntfsExit: Promise<number> = Promise.resolve(0);
  try {
    if (fs === 'ext4') {
      await sh('mount', ['-t', 'ext4', '-o', `loop,${opts.readOnly ? 'ro,noload' : 'rw,nodiscard'}`, image, dir]);
      mounted.add(dir);
    } else {
      const o = `${opts.readOnly ? 'ro' : 'rw'},no_detach`;
      const child = spawn('ntfs-3g', ['-o', o, image, dir], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
      ntfs3g = child;
      if (child.pid !== undefined) running.add(child.pid);
      child.on('exit', () => child.pid !== undefined && running.delete(child.pid));
      let err = '';
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      ntfsExit = new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
      mounted.add(dir);
      await waitForMount(dir, ntfsExit, () => err);
    }
    return await fn(dir);
  } finally {
    if (mounted.has(dir)) await unmount(dir);
    if (ntfs3g && ntfs3g.exitCode === null) {
      const t = setTimeout(() => ntfs3g?.kill('SIGKILL'), 30_000);
      await ntfsExit;
      clearTimeout(t);
    }
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Wait (bounded, 30 s) until `dir` appears in /proc/mounts; rejects if the mounting process exits first. */
async function waitForMount(dir: string, exited: Promise<number>, stderr: () => string): Promise<void> {
  const state: { gone: number | null } = { gone: null };
  void exited.then((c) => (state.gone = c));
  for (let i = 0; i < 300; i++) {
    const mounts = await readFile('/proc/mounts', 'utf8');
    if (mounts.split('\n').some((l) => l.split(' ')[1] === dir)) return;
    if (state.gone !== null) throw new Error(`ntfs-3g exited with ${state.gone}: ${stderr().trim()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`ntfs-3g: ${dir} not mounted within 30 s`);
}

async function unmount(dir: string): Promise<void> {
  for (let i = 0; i < 25; i++) {
    const ok = await sh('umount', [dir]).then(
      () => true,
      () => false,
    );
    if (ok) {
      mounted.delete(dir);
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await sh('umount', ['-l', dir]).catch(() => undefined);
  mounted.delete(dir);
}

// ---- used-block maps, checks --------------------------------------------------------------

/** A used range in bytes. */
export interface Range {
  pos: number;
  size: number;
}

/** `partclone.<fs> --domain`: the ranges the filesystem uses (the ddrescue map's `+` lines). */
export async function usedRanges(fs: FsKind, image: string, scratch: string): Promise<Range[]> {
  const map = join(scratch, `domain-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.log`);
  const log = `${map}.pclog`;
  try {
    await sh(`partclone.${fs}`, ['-q', '-D', '-s', image, '-o', map, '-L', log]);
    return parseDomain(await readFile(map, 'utf8'));
  } finally {
    await rm(map, { force: true });
    await rm(log, { force: true });
  }
}

/** The `+` ranges of a ddrescue map (lines `0xPOS 0xSIZE STATUS` after the current-position line). */
export function parseDomain(text: string): Range[] {
  const out: Range[] = [];
  for (const line of text.split('\n')) {
    const m = /^0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+\+\s*$/i.exec(line.trim());
    if (m) out.push({ pos: parseInt(m[1]!, 16), size: parseInt(m[2]!, 16) });
  }
  return out;
}

export function sumRanges(ranges: Range[]): number {
  return ranges.reduce((a, r) => a + r.size, 0);
}

/** MD5 of the bytes of `ranges` in `image`, in order (what a partclone read-back of the used blocks sees). */
export async function rangesDigest(image: string, ranges: Range[]): Promise<string> {
  const h = createHash('md5');
  const fh = await open(image, 'r');
  const buf = Buffer.alloc(4 * 2 ** 20);
  try {
    for (const r of ranges) {
      for (let off = 0; off < r.size;) {
        const n = Math.min(buf.length, r.size - off);
        const { bytesRead } = await fh.read(buf, 0, n, r.pos + off);
        if (bytesRead <= 0) throw new Error(`${image}: short read at ${r.pos + off}`);
        h.update(buf.subarray(0, bytesRead));
        off += bytesRead;
      }
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

/** `fsck -n`: e2fsck -fn for ext4, ntfsfix -n for NTFS; null when clean, else the tool's complaint. */
export async function fsckProblem(fs: FsKind, image: string): Promise<string | null> {
  const [cmd, args]: [string, string[]] = fs === 'ext4' ? ['e2fsck', ['-fn', image]] : ['ntfsfix', ['-n', image]];
  const r = await run(cmd, args, { maxBuffer: 16 * 2 ** 20 }).then(
    (ok) => ({ status: 0, stdout: ok.stdout, stderr: ok.stderr }),
    (err: Error & { code?: number | string; stdout?: string; stderr?: string }) => ({
      status: err.code ?? 'error',
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? err.message,
    }),
  );
  if (r.status === 0) return null;
  const text = `${r.stdout}\n${r.stderr}`;
  const bad = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /bad|error|fail|corrupt|wrong|differ|fix/i.test(l));
  return `${cmd} -n exit ${r.status}: ${(bad.length > 0 ? bad : text.trim().split('\n')).slice(0, 3).join(' | ')}`;
}

/**
 * One digest over every regular file under a mount (sorted relative paths, each file's MD5 and
 * size), and the count of files. Equal digests: the same files with the same contents.
 */
export async function filesDigest(root: string): Promise<{ digest: string; files: number }> {
  const out = await pipeline(
    `cd ${q(root)} && find . -xdev -type f -print0 | LC_ALL=C sort -z | xargs -0 -r md5sum --`,
  );
  const lines = out.split('\n').filter(Boolean);
  return { digest: createHash('md5').update(out).digest('hex'), files: lines.length };
}
