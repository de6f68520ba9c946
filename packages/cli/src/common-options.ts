import { openLogger, type Logger, type LogFormat } from '@cascade/common';

export interface LogArgs {
  'log-level': string;
  'log-format': LogFormat;
}

export function loggerFrom(
  argv: LogArgs,
  base: Record<string, unknown>,
  prettyStream?: NodeJS.WritableStream,
): Promise<Logger> {
  return openLogger({
    level: argv['log-level'],
    format: argv['log-format'],
    base,
    ...(prettyStream ? { prettyStream } : {}),
  });
}

export { DEFAULT_COORDINATOR } from './options/shared-options.js';

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
