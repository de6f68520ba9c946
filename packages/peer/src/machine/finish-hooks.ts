import type { Logger } from '@cascade/common';
import { runHook, type HookKind, type HookResult } from './on-complete.js';

/** The two hooks a peer may be given: `--on-complete` and `--on-failure`. */
export interface FinishHooks {
  onComplete?: string | undefined;
  onFailure?: string | undefined;
}

/**
 * The hook a finished run calls: `on-complete` only when the machine is imaged (so boot media
 * can `reboot -f` into the new system), `on-failure` for every other end — incomplete, failed,
 * discovery failed — so a failing machine never reboots into the same failure. Null when the
 * matching hook is not set (the other one is never a fallback).
 */
export function hookFor(hooks: FinishHooks, result: HookResult['result']): { kind: HookKind; cmd: string } | null {
  if (result === 'imaged') return hooks.onComplete ? { kind: 'on-complete', cmd: hooks.onComplete } : null;
  return hooks.onFailure ? { kind: 'on-failure', cmd: hooks.onFailure } : null;
}

/**
 * Run the hook this result calls for (see hookFor). Resolves with its exit code, null if it was
 * killed or could not start, undefined if no hook applies; never throws.
 */
export async function runFinishHook(
  hooks: FinishHooks,
  r: HookResult,
  logger: Logger,
  timeoutMs?: number,
): Promise<number | null | undefined> {
  const hook = hookFor(hooks, r.result);
  if (!hook) return undefined;
  return runHook(hook.kind, hook.cmd, r, logger, timeoutMs);
}
