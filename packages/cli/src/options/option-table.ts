import { CascadeError, parseDuration, parseRate, parseSize, type ConfigKey } from '@cascade/common';
import type { Argv, Options } from 'yargs';

/**
 * One option, declared once: the yargs flag `--NAME`, the `CASCADE_NAME` environment variable
 * and the `cascade.NAME` kernel parameter all come from it (see config-sources.ts).
 */
export interface OptionSpec extends ConfigKey {
  describe: string;
  default?: unknown;
  group?: string;
  hidden?: boolean;
  /** Required (after all four sources are read). */
  demand?: boolean;
  /** Only a flag: not read from CASCADE_* or cascade.* (e.g. --cmdline-file itself). */
  flagOnly?: boolean;
}

/** A role's options: every command that takes them declares them with addOptions. */
export type OptionTable = readonly OptionSpec[];

function yargsOption(spec: OptionSpec): Options {
  const o: Options = { describe: spec.describe };
  if (spec.kind === 'list') {
    o.type = 'string';
    o.array = true;
  } else if (spec.choices) {
    o.choices = [...spec.choices];
  } else {
    o.type = spec.kind;
  }
  if (spec.default !== undefined) o.default = spec.default;
  if (spec.group) o.group = spec.group;
  if (spec.hidden) o.hidden = true;
  if (spec.demand) o.demandOption = true;
  return o;
}

/** Declare every option of `table` on a yargs command. */
export function addOptions<T>(y: Argv<T>, table: OptionTable): Argv<T> {
  let out = y;
  for (const spec of table) out = out.option(spec.name, yargsOption(spec));
  return out;
}

/** The settings of `table` that may also come from the environment and the kernel command line. */
export const sourceKeys = (table: OptionTable): OptionSpec[] => table.filter((s) => !s.flagOnly);

const fail = (message: string): never => {
  throw new CascadeError('ERR_BAD_CONFIG', message);
};

/** A whole number of at least `min` (with a note on what the smallest value means, if any). */
export function wholeAtLeast(min: number): (v: number) => void {
  return (v) => {
    if (!Number.isSafeInteger(v) || v < min) fail(`expected a whole number ≥ ${min}, got ${v}`);
  };
}

/** A whole number from `min` to `max`. */
export function wholeBetween(min: number, max: number): (v: number) => void {
  return (v) => {
    if (!Number.isSafeInteger(v) || v < min || v > max) fail(`expected a whole number from ${min} to ${max}, got ${v}`);
  };
}

export const positiveCount = wholeAtLeast(1);
export const port = (v: number): void => {
  if (!Number.isInteger(v) || v < 1 || v > 65535) fail(`expected a port 1-65535, got ${v}`);
};

/** Duration text that must be longer than zero. */
export function positiveDuration(v: string): number {
  const ms = parseDuration(v);
  return ms > 0 ? ms : fail(`must be longer than 0, got "${v}"`);
}

/** Rate text that must be above zero (omit the option for no cap). */
export function positiveRate(v: string): number {
  const r = parseRate(v);
  return r > 0 ? r : fail(`must be above 0 (leave it out for no cap), got "${v}"`);
}

/** Size text that must be above zero. */
export function positiveSize(v: string): number {
  const n = parseSize(v);
  return n > 0 ? n : fail(`must be above 0, got "${v}"`);
}

/**
 * A unit-carrying option's value as its table parses it (`parse`): the one parser of that
 * option, already run on the value when the settings were resolved, so it does not throw here.
 * Handlers take their numbers from here instead of parsing the text again.
 */
export function parsedValue<T extends OptionTable>(table: T, name: T[number]['name'], value: string): number {
  const spec = table.find((s) => s.name === name);
  if (!spec?.parse) throw new CascadeError('ERR_INTERNAL', `option --${name} has no parser`);
  return spec.parse(value);
}

/** Duration text that may be zero. */
export const duration = (v: string): number => parseDuration(v);

type ValueOf<S> = S extends { kind: 'list' }
  ? string[]
  : S extends { choices: readonly (infer C)[] }
    ? C
    : S extends { kind: 'number' }
      ? number
      : S extends { kind: 'boolean' }
        ? boolean
        : string;
type Always<S> = S extends { default: unknown } | { demand: true } ? true : false;
type NameOf<S> = S extends { name: infer N extends string } ? N : never;

/**
 * The parsed arguments a table gives a command handler: an option with a default (or required)
 * is always there, any other may be missing. Declare tables `as const satisfies OptionTable`.
 */
export type ArgsOf<T extends readonly unknown[]> = {
  [S in T[number] as Always<S> extends true ? NameOf<S> : never]: ValueOf<S>;
} & {
  [S in T[number] as Always<S> extends true ? never : NameOf<S>]?: ValueOf<S>;
};

type ParsedValueOf<S> = S extends { parse: (v: string) => number } ? number : ValueOf<S>;

/** ArgsOf with every option that has a `parse` (durations, sizes, rates) as its parsed number. */
export type ParsedArgsOf<T extends readonly unknown[]> = {
  [S in T[number] as Always<S> extends true ? NameOf<S> : never]: ParsedValueOf<S>;
} & {
  [S in T[number] as Always<S> extends true ? never : NameOf<S>]?: ParsedValueOf<S>;
};

/**
 * The arguments a handler consumes: each option's text run through its table's own `parse`
 * (already checked when the sources were read), so a handler never parses an option again.
 */
export function parsedArgs<T extends OptionTable>(table: T, argv: ArgsOf<T>): ParsedArgsOf<T> {
  const out: Record<string, unknown> = { ...(argv as Record<string, unknown>) };
  for (const spec of table) {
    const v = out[spec.name];
    if (spec.parse && typeof v === 'string') out[spec.name] = spec.parse(v);
  }
  return out as ParsedArgsOf<T>;
}
