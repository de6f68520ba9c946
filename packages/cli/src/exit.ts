import { FATAL_CONTROL_CODES, isCascadeError, type ErrorCode } from '@cascade/common';

/** Peer exit codes (DESIGN.md): 0 imaged · 2 bad configuration · 3 target unusable · 4 unverifiable · 5 incomplete. */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  BAD_CONFIG: 2,
  TARGET_UNUSABLE: 3,
  VERIFY_FAILED: 4,
  INCOMPLETE: 5,
} as const;

const byCode: Partial<Record<ErrorCode, number>> = {
  ERR_BAD_CONFIG: ExitCode.BAD_CONFIG,
  ERR_BAD_UNIT: ExitCode.BAD_CONFIG,
  ERR_UNKNOWN_SESSION: ExitCode.BAD_CONFIG,
  ERR_PROTOCOL_VERSION: ExitCode.BAD_CONFIG,
  ERR_TARGET_UNUSABLE: ExitCode.TARGET_UNUSABLE,
  ERR_TARGET_TOO_SMALL: ExitCode.TARGET_UNUSABLE,
  ERR_KEY_INVALID: ExitCode.BAD_CONFIG,
  ERR_AUTH_REQUIRED: ExitCode.BAD_CONFIG,
  ERR_AUTH_FAILED: ExitCode.BAD_CONFIG,
  ERR_TARGET_IN_USE: ExitCode.TARGET_UNUSABLE,
  ERR_VERIFY_FAILED: ExitCode.VERIFY_FAILED,
  ERR_MANIFEST_UNSIGNED: ExitCode.VERIFY_FAILED,
  ERR_MANIFEST_KEY_UNTRUSTED: ExitCode.VERIFY_FAILED,
  ERR_MANIFEST_SIGNATURE_INVALID: ExitCode.VERIFY_FAILED,
  ERR_INCOMPLETE: ExitCode.INCOMPLETE,
  ERR_STOPPED: ExitCode.INCOMPLETE,
};

/**
 * Coordinator refusals (ERR_COORDINATOR_REFUSED) that say the command's own configuration is
 * wrong: exit 2. The remote code decides the exit code only through this list; it never becomes
 * a local error code.
 */
const BAD_CONFIG_REFUSALS: ReadonlySet<string> = new Set([...FATAL_CONTROL_CODES, 'ERR_UNKNOWN_SESSION']);

export function exitCodeFor(err: unknown): number {
  if (!isCascadeError(err)) return ExitCode.FAILURE;
  if (err.code === 'ERR_COORDINATOR_REFUSED')
    return err.remoteCode && BAD_CONFIG_REFUSALS.has(err.remoteCode) ? ExitCode.BAD_CONFIG : ExitCode.FAILURE;
  return byCode[err.code] ?? ExitCode.FAILURE;
}

/** One clear line on stderr, then the exit code that matches the error. */
export function reportFatal(err: unknown): never {
  const line = isCascadeError(err)
    ? `cascade: ${err.message} (${err.code})`
    : `cascade: ${(err as Error)?.stack ?? String(err)}`;
  process.stderr.write(`${line}\n`);
  process.exit(exitCodeFor(err));
}
