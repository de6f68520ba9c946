import pino, { type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

export type { Logger } from 'pino';

export type LogFormat = 'json' | 'pretty' | 'auto';

export interface LoggerOptions {
  level?: string;
  format?: LogFormat;
  /** Base fields on every line, e.g. { role: 'peer', name: 'lab-12' }. */
  base?: Record<string, unknown>;
  /** Destination fd (default 2: logs go to stderr, stdout stays for command output). */
  fd?: number;
  /** Where human-readable lines go instead of `fd` (e.g. above a progress bar). */
  prettyStream?: NodeJS.WritableStream;
}

/** pino-pretty, once loaded: ~10 ms of a role's startup, so roles that log JSON never load it. */
let prettyPrinter: typeof PinoPretty | undefined;

/** Whether `createLogger(options)` writes human-readable lines: format pretty, or auto with stderr on a terminal. */
export function wantsPrettyLogs(options: Pick<LoggerOptions, 'format' | 'fd'> = {}): boolean {
  const format = options.format ?? 'auto';
  return format === 'pretty' || (format === 'auto' && Boolean(process.stderr.isTTY) && (options.fd ?? 2) === 2);
}

/** Load the human-readable printer (once); `createLogger` needs it for pretty output. */
export async function loadPrettyLogs(): Promise<void> {
  prettyPrinter ??= (await import('pino-pretty')).default;
}

/**
 * The one logger factory: made once at an entry point and passed down; modules take
 * `logger.child({ component })`. JSON when stderr is not a TTY, human-readable when it is —
 * once `loadPrettyLogs()` has run (until then JSON: `openLogger` does both).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const fd = options.fd ?? 2;
  const base = { pid: process.pid, ...options.base };
  const level = options.level ?? process.env.CASCADE_LOG_LEVEL ?? 'info';
  if (wantsPrettyLogs(options) && prettyPrinter) {
    const stream = prettyPrinter({
      destination: options.prettyStream ?? fd,
      colorize: true,
      translateTime: 'HH:MM:ss.l',
      ignore: 'pid,hostname',
      sync: true,
    });
    return pino({ level, base }, stream);
  }
  return pino({ level, base }, pino.destination({ fd, sync: true }));
}

/** `createLogger`, with the human-readable printer loaded first when the output is to be pretty. */
export async function openLogger(options: LoggerOptions = {}): Promise<Logger> {
  if (wantsPrettyLogs(options)) await loadPrettyLogs();
  return createLogger(options);
}

/** A logger that drops everything (for library users and unit tests that do not care). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
