import pino, { type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

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

/**
 * The one logger factory: made once at an entry point and passed down; modules take
 * `logger.child({ component })`. JSON when stderr is not a TTY, human-readable when it is.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const fd = options.fd ?? 2;
  const format = options.format ?? 'auto';
  const pretty = format === 'pretty' || (format === 'auto' && Boolean(process.stderr.isTTY) && fd === 2);
  const base = { pid: process.pid, ...options.base };
  const level = options.level ?? process.env.CASCADE_LOG_LEVEL ?? 'info';
  if (pretty) {
    const stream = pinoPretty({
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

/** A logger that drops everything (for library users and unit tests that do not care). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
