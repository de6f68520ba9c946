import { spawn } from 'node:child_process';
import type { Logger } from '@cascade/common';

/** What the on-complete hook learns about the run, as CASCADE_* environment variables. */
export interface HookResult {
  /** imaged | incomplete | failed */
  result: string;
  exitCode: number;
  imageId: string | null;
  target: string;
  session: string;
  coordinator: string;
  errorCode?: string;
}

/** The hook's environment: the caller's plus CASCADE_RESULT, CASCADE_EXIT_CODE, CASCADE_IMAGE_ID, … */
export function hookEnv(r: HookResult, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    CASCADE_RESULT: r.result,
    CASCADE_EXIT_CODE: String(r.exitCode),
    CASCADE_IMAGE_ID: r.imageId ?? '',
    CASCADE_TARGET: r.target,
    CASCADE_SESSION: r.session,
    CASCADE_COORDINATOR: r.coordinator,
    CASCADE_ERROR_CODE: r.errorCode ?? '',
  };
}

/** Which hook a run ends with: `on-complete` after an imaged run, `on-failure` after any other. */
export type HookKind = 'on-complete' | 'on-failure';

/**
 * Run `--on-complete CMD` through `sh -c` once the peer is finished (e.g. `reboot`). Resolves with
 * the hook's exit code (null if it was killed after `timeoutMs`); never throws: a broken hook is
 * logged, and the peer still exits with its own code. Whether it should run at all is
 * `hookFor()`'s decision (finish-hooks.ts).
 */
export function runOnComplete(cmd: string, r: HookResult, logger: Logger, timeoutMs = 600_000): Promise<number | null> {
  return runHook('on-complete', cmd, r, logger, timeoutMs);
}

/** Run a hook of either kind (see runOnComplete): `sh -c CMD` with the result in CASCADE_* variables. */
export function runHook(
  kind: HookKind,
  cmd: string,
  r: HookResult,
  logger: Logger,
  timeoutMs = 600_000,
): Promise<number | null> {
  const log = logger.child({ component: kind });
  log.info({ cmd, result: r.result, exitCode: r.exitCode }, `running ${kind} hook`);
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', cmd], { stdio: ['ignore', 'inherit', 'inherit'], env: hookEnv(r) });
    const timer = setTimeout(() => {
      log.warn({ cmd, timeoutMs }, `${kind} hook took too long; killing it`);
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      log.warn({ err, cmd }, `${kind} hook could not start`);
      resolve(null);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) log.warn({ cmd, code }, `${kind} hook failed`);
      resolve(code);
    });
  });
}
