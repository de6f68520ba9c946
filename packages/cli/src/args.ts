import { CascadeError, parseDuration, parseRate, parseSize } from '@cascade/common';

/** Unit parsers that name the flag in their error. */
function named<T>(fn: (v: string) => T, value: string, flag: string): T {
  try {
    return fn(value);
  } catch (err) {
    throw new CascadeError('ERR_BAD_CONFIG', `${flag}: ${(err as Error).message}`, { cause: err });
  }
}
export const parseSizeArg = (v: string, flag: string): number => named(parseSize, v, flag);

/** `--slice`, or the default of the session's mode: 1 MiB slices for a relay chain, 4 MiB for classic. */
export const sliceSizeArg = (slice: string | undefined, relay: boolean): number =>
  parseSizeArg(slice ?? (relay ? '1MiB' : '4MiB'), '--slice');
export const parseRateArg = (v: string, flag: string): number => named(parseRate, v, flag);
export const parseDurationArg = (v: string, flag: string): number => named(parseDuration, v, flag);

export function optionalDuration(v: string | undefined, flag: string): number | undefined {
  return v === undefined ? undefined : parseDurationArg(v, flag);
}

/** `host:port` → parts; port 0 means any free port. */
export function parseListen(v: string, flag = '--listen'): { host: string; port: number } {
  if (typeof v !== 'string') throw new CascadeError('ERR_BAD_CONFIG', `${flag}: give it once, as host:port`);
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(v.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !m[1] || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CascadeError('ERR_BAD_CONFIG', `${flag}: expected host:port, got "${v}"`);
  }
  return { host: m[1], port };
}
