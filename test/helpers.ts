import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { CASCADE_BIN } from '@cascade/cli';
import { guardEnv } from './crash-guard.js';

/** A fresh temp folder removed after the test file (kept when CASCADE_KEEP_TEST_DIRS is set). */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `cascade-${prefix}-`));
  after(async () => {
    if (!process.env.CASCADE_KEEP_TEST_DIRS) await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

export interface CascadeRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run `cascade ARGS` to completion (killed after `timeoutMs`); resolve with its exit code and
 * output. `env` replaces the inherited environment when given (the crash guard stays on).
 */
export function runCascade(
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<CascadeRun> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CASCADE_BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: guardEnv(opts.env ?? process.env),
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** `cascade peer` arguments for a coordinator, session, target and listen address. */
export function peerArgs(url: string, session: string, target: string, listen: string, extra: string[] = []): string[] {
  return ['peer', '--coordinator', url, '--session', session, '--target', target, '--listen', listen, ...extra];
}

/** Poll `check` every 100 ms until it holds; fail after `timeoutMs` naming `what`. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
