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

export const RELAY_MISSING = 'relay: not available in this build (`cascade seed --help` lists no --relay)';

/** A fresh work folder under the system temp dir; `done()` removes it unless BENCH_KEEP is set. */
export async function workdir(prefix: string): Promise<{ dir: string; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `cascade-bench-${prefix}-`));
  return {
    dir,
    done: async () => {
      if (process.env.BENCH_KEEP) process.stderr.write(`kept ${dir}\n`);
      else await rm(dir, { recursive: true, force: true });
    },
  };
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
