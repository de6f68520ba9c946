import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CASCADE_BIN } from '@cascade/cli';

const run = promisify(execFile);

/** True when this build's `cascade seed` has `--relay` (relay mode). */
export async function relaySupported(): Promise<boolean> {
  const { stdout } = await run(process.execPath, [CASCADE_BIN, 'seed', '--help']);
  return /--relay\b/.test(stdout);
}

/**
 * Build the image's manifests before any measured run, as an admin does once per image
 * (`cascade manifest IMAGE`, and `--relay` for relay sessions): every row's seeder then starts
 * from the cache, whichever row runs first. `seederExtra`'s --slice and --digest are passed on.
 */
export async function prepareManifests(image: string, seederExtra: string[] = []): Promise<void> {
  const pass: string[] = [];
  for (const flag of ['--slice', '--digest']) {
    const at = seederExtra.indexOf(flag);
    if (at >= 0 && seederExtra[at + 1] !== undefined) pass.push(flag, seederExtra[at + 1]!);
  }
  for (const mode of [[], ['--relay']]) await run(process.execPath, [CASCADE_BIN, 'manifest', image, ...mode, ...pass]);
}

export const RELAY_MISSING = 'relay: not available in this build (`cascade seed --help` lists no --relay)';

/**
 * A fresh work folder under the system temp dir; `done()` removes it unless BENCH_KEEP is set.
 * With `tmpfsBytes` (root only) a tmpfs of that size is mounted on it, so targets live in memory
 * (a path under /dev such as /dev/shm is refused by `cascade peer`: targets there must be block
 * devices); `inMemory` says whether that worked.
 */
export async function workdir(
  prefix: string,
  tmpfsBytes?: number,
): Promise<{ dir: string; inMemory: boolean; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `cascade-bench-${prefix}-`));
  let inMemory = false;
  if (tmpfsBytes !== undefined && process.getuid?.() === 0) {
    const size = `size=${Math.ceil(tmpfsBytes / 2 ** 20)}m`;
    inMemory = await run('mount', ['-t', 'tmpfs', '-o', `${size},mode=0755`, 'cascade-bench', dir]).then(
      () => true,
      (err: Error) => (progress(`could not mount a tmpfs on ${dir} (${err.message}); using the disk`), false),
    );
  }
  return {
    dir,
    inMemory,
    done: async () => {
      if (process.env.BENCH_KEEP)
        return progress(`kept ${dir}${inMemory ? ` (a tmpfs: umount ${dir} when done)` : ''}`);
      if (inMemory) await unmount(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Unmount the work tmpfs: log streams of children that just exited may hold it a moment (busy),
 * so try again for up to 5 s, then detach it lazily (it goes once the last file is closed).
 */
async function unmount(dir: string): Promise<void> {
  for (let i = 0; i < 25; i++) {
    if (
      await run('umount', [dir]).then(
        () => true,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 200));
  }
  await run('umount', ['-l', dir]).catch((err: Error) => progress(`umount -l ${dir}: ${err.message}`));
}

/** The `time` (epoch ms) of the last JSON log line of a role whose msg is `msg`. */
export async function logTime(logFile: string, msg: string): Promise<number | null> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  // The last occurrence: a log file may hold several runs (roles append to their log).
  for (const line of text.split('\n').reverse()) {
    if (!line.includes(`"msg":"${msg}"`)) continue;
    try {
      const t = (JSON.parse(line) as { time?: number }).time;
      if (typeof t === 'number') return t;
    } catch {
      // not a JSON line
    }
  }
  return null;
}

/** Progress to stderr, so stdout holds only the tables. */
export function progress(text: string): void {
  process.stderr.write(`[bench] ${text}\n`);
}
