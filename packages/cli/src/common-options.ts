import { createLogger, type Logger, type LogFormat } from '@cascade/common';
import type { Argv } from 'yargs';

export interface LogArgs {
  'log-level': string;
  'log-format': LogFormat;
}

/** --log-level / --log-format, shared by every long-running role. */
export function withLogOptions<T>(y: Argv<T>): Argv<T & LogArgs> {
  return y
    .option('log-level', {
      type: 'string',
      default: 'info',
      describe: 'trace|debug|info|warn|error',
      group: 'Logging:',
    })
    .option('log-format', {
      choices: ['auto', 'json', 'pretty'] as const,
      default: 'auto' as LogFormat,
      describe: 'JSON lines, or human-readable (auto: pretty on a TTY)',
      group: 'Logging:',
    }) as unknown as Argv<T & LogArgs>;
}

export function loggerFrom(argv: LogArgs, base: Record<string, unknown>, prettyStream?: NodeJS.WritableStream): Logger {
  return createLogger({
    level: argv['log-level'],
    format: argv['log-format'],
    base,
    ...(prettyStream ? { prettyStream } : {}),
  });
}

export const DEFAULT_COORDINATOR = 'ws://127.0.0.1:7770';

/** Run `stop` once on SIGINT/SIGTERM. */
export function onStopSignal(stop: (signal: NodeJS.Signals) => void): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(130);
    stopping = true;
    stop(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
