import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';

/**
 * The crash guard of the e2e tests. Importing this module (test/helpers.ts does) puts the preload
 * crash-guard-preload.mjs into NODE_OPTIONS and names a crash log in E2E_CRASH_LOG, both in
 * this test process's environment, so every role process started from here on (spawnRole,
 * spawnLogged, runCascade, the demo's own children) records any uncaught exception or unhandled
 * rejection there. An `after` hook of the test file fails when anything was recorded.
 */
export const PRELOAD = fileURLToPath(new URL('./crash-guard-preload.mjs', import.meta.url));

/** Environment that turns the guard on for a child process, writing to `log`. */
export function guardEnv(env: NodeJS.ProcessEnv, log = CRASH_LOG): NodeJS.ProcessEnv {
  const current = env.NODE_OPTIONS ?? '';
  const preload = `--import=${PRELOAD}`;
  const NODE_OPTIONS = current.includes(preload) ? current : `${current} ${preload}`.trim();
  return { ...env, NODE_OPTIONS, E2E_CRASH_LOG: log };
}

export interface CrashRecord {
  kind: string;
  pid: number;
  argv: string;
  detail: string;
}

/** What the guard recorded in `log` so far (empty when nothing). */
export function crashes(log = CRASH_LOG): CrashRecord[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as CrashRecord);
}

/** Throw, with every recorded stack, when any process of this test file crashed. */
export function assertNoCrashes(log = CRASH_LOG): void {
  const found = crashes(log);
  if (found.length === 0) return;
  const text = found.map((c) => `pid ${c.pid} (${c.argv}) ${c.kind}:\n${c.detail}`).join('\n\n');
  throw new Error(`${found.length} uncaught exception(s)/unhandled rejection(s) in role processes:\n${text}`);
}

export const CRASH_LOG = join(tmpdir(), `cascade-crash-${process.pid}.log`);

if (process.env.E2E_CRASH_LOG !== CRASH_LOG) {
  rmSync(CRASH_LOG, { force: true });
  Object.assign(process.env, guardEnv(process.env));
  after(() => {
    try {
      assertNoCrashes();
    } finally {
      if (!process.env.CASCADE_KEEP_TEST_DIRS) rmSync(CRASH_LOG, { force: true });
    }
  });
}
