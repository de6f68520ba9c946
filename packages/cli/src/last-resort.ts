import { createLogger, loadPrettyLogs, wantsPrettyLogs, type LogFormat } from '@cascade/common';

/** Exit code of a process ended by an uncaught exception or unhandled rejection (EX_SOFTWARE). */
export const BUG_EXIT_CODE = 70;

/** The --log-format the command line asked for (the logger of a role may not exist yet). */
function logFormat(argv: string[]): LogFormat {
  const i = argv.findIndex((a) => a === '--log-format' || a.startsWith('--log-format='));
  const value = i < 0 ? undefined : argv[i]!.includes('=') ? argv[i]!.split('=')[1] : argv[i + 1];
  return value === 'json' || value === 'pretty' ? value : 'auto';
}

/**
 * Last resort: an exception nobody caught or a rejection nobody handled is a bug in cascade.
 * Log it at fatal level with its stack, say so in one stderr line, exit BUG_EXIT_CODE — never
 * silently, never with a bare stack trace.
 */
export function installLastResortHandlers(argv: string[] = process.argv): void {
  // The fatal line is human-readable where the role's logs are (on a terminal): load the printer
  // now, in the background, as the handler below cannot wait for it.
  if (wantsPrettyLogs({ format: logFormat(argv) })) loadPrettyLogs().catch(() => undefined);
  let handling = false;
  const fatal = (kind: string, err: unknown): void => {
    if (handling) process.exit(BUG_EXIT_CODE);
    handling = true;
    try {
      const logger = createLogger({ format: logFormat(argv), base: { component: 'last-resort' } });
      const e = err instanceof Error ? err : new Error(String(err));
      logger.fatal({ err: e, kind }, `${kind}: ${e.message}`);
    } finally {
      process.stderr.write(
        `cascade: internal error (${kind}); this is a bug, please report it with the log above (exit ${BUG_EXIT_CODE})\n`,
      );
      process.exit(BUG_EXIT_CODE);
    }
  };
  process.on('uncaughtException', (err) => fatal('uncaughtException', err));
  process.on('unhandledRejection', (reason) => fatal('unhandledRejection', reason));
}
