import { readFileSync } from 'node:fs';
import {
  cascadeParams,
  parseKernelCmdline,
  resolveConfig,
  type ConfigKey,
  type ConfigOrigin,
  type ResolvedConfig,
} from '@cascade/common';
import type { Argv } from 'yargs';
import { addOptions, sourceKeys, type OptionTable } from './options/option-table.js';

export const DEFAULT_CMDLINE_FILE = '/proc/cmdline';

/**
 * `cascade.*` parameters the boot media's script reads itself (deploy/boot/cascade-boot.sh): on
 * /proc/cmdline they are documented settings, not unknown ones. (The script hands the peer
 * /run/cascade/cmdline without them.)
 */
export const BOOT_SCRIPT_PARAMS: readonly string[] = ['retry', 'settle'];

/** Where the settings come from: flags only, not themselves settable from the environment. */
const SOURCE_OPTIONS: OptionTable = [
  {
    name: 'cmdline-file',
    kind: 'string',
    default: DEFAULT_CMDLINE_FILE,
    describe: 'kernel command line to read cascade.* settings from',
    group: 'Configuration:',
    flagOnly: true,
  },
  {
    name: 'show-config',
    kind: 'boolean',
    default: false,
    describe: 'print each setting (parsed) and where it came from, then exit',
    group: 'Configuration:',
    flagOnly: true,
  },
];

/** Flag names given explicitly in `args` (`--x`, `--x=v`, `--no-x`), up to a bare `--`. */
export function explicitFlags(args: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const a of args) {
    if (a === '--') break;
    const m = /^--(?:no-)?([^=]+)/.exec(a);
    if (m?.[1]) {
      out.add(m[1]);
      if (a.startsWith('--no-')) out.add(a.slice(2).split('=')[0]!);
    }
  }
  return out;
}

/** The text given for `--name` in `args` (`--name v` or `--name=v`; the last one wins), if any. */
export function rawFlagText(args: readonly string[], name: string): string | undefined {
  let text: string | undefined;
  for (let i = 0; i < args.length && args[i] !== '--'; i++) {
    const a = args[i]!;
    if (a.startsWith(`--${name}=`)) text = a.slice(name.length + 3);
    else if (a === `--${name}` && i + 1 < args.length) text = args[i + 1];
  }
  return text;
}

/** The kernel command line's `cascade.*` parameters; a missing file is an empty line. */
function readCmdline(file: string): Map<string, string | null> {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return cascadeParams(parseKernelCmdline(text));
}

const camel = (s: string): string => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Resolve `keys` from the four sources and write the winners back into yargs' argv. */
export function applyConfigSources(
  argv: Record<string, unknown>,
  keys: readonly ConfigKey[],
  rawArgs: readonly string[],
  env: Record<string, string | undefined>,
  cmdlineParams?: ReadonlyMap<string, string | null>,
): ResolvedConfig {
  const given = explicitFlags(rawArgs);
  const flags: Record<string, unknown> = {};
  const defaults: Record<string, unknown> = {};
  for (const k of keys) (given.has(k.name) ? flags : defaults)[k.name] = argv[k.name];
  // a number flag yargs could not read arrives as NaN: report the text that was typed
  for (const k of keys) {
    const text = k.kind === 'number' && Number.isNaN(flags[k.name]) ? rawFlagText(rawArgs, k.name) : undefined;
    if (text !== undefined) flags[k.name] = text;
  }
  const file = typeof argv['cmdline-file'] === 'string' ? argv['cmdline-file'] : DEFAULT_CMDLINE_FILE;
  const cmdline = cmdlineParams ?? readCmdline(file);
  const resolved = resolveConfig(keys, { flags, env, cmdline, defaults }, BOOT_SCRIPT_PARAMS);
  for (const [name, value] of Object.entries(resolved.values)) {
    argv[name] = value;
    argv[camel(name)] = value;
  }
  return resolved;
}

/** One line of `--show-config`: the value, what it means in base units, where it came from. */
export interface ShownSetting {
  value: unknown;
  from: ConfigOrigin;
  /** For a unit-carrying setting: `100Mb` → 12500000 with unit `B/s`. */
  parsed?: number;
  unit?: string;
}

/** What `--show-config` prints: each setting, parsed, with where it came from. */
export function describeConfig(r: ResolvedConfig, keys: readonly ConfigKey[]): string {
  const settings: Record<string, ShownSetting> = {};
  const byName = new Map(keys.map((k) => [k.name, k]));
  for (const [name, from] of Object.entries(r.origins)) {
    const value = r.values[name];
    const key = byName.get(name);
    settings[name] = { value, from };
    if (key?.parse && typeof value === 'string') {
      settings[name] = { value, from, parsed: key.parse(value), ...(key.unit ? { unit: key.unit } : {}) };
    }
  }
  return `${JSON.stringify({ settings, warnings: r.warnings }, null, 2)}\n`;
}

/** Where each setting of the command being run came from (set as its options are read). */
let origins: Readonly<Record<string, ConfigOrigin>> = {};

/** Where `name` came from in this run (`default` when it was not given anywhere). */
export function configOrigin(name: string): ConfigOrigin {
  return origins[name] ?? 'default';
}

/** Validate the flags of a command whose options come from flags and defaults only. */
function flagsOnly(keys: readonly ConfigKey[]): (argv: Record<string, unknown>) => void {
  return (argv) => void applyConfigSources(argv, keys, process.argv.slice(2), {}, new Map());
}

/**
 * Declare a command's options from its table, checked by the same rules whichever source gives
 * them. With `sources`, they also come from the `CASCADE_*` environment and the kernel command
 * line (`cascade.*`, read from --cmdline-file): flags > environment > kernel command line >
 * defaults, and --show-config prints the result. Runs before yargs validates, so a required option
 * set in the environment or on the kernel command line counts as given.
 */
export function withOptions<T>(y: Argv<T>, table: OptionTable, opts: { sources: boolean }): Argv<T> {
  const keys = sourceKeys(table);
  const declared = addOptions(y, table);
  if (!opts.sources) return declared.middleware(flagsOnly(keys), true);
  const sourced = addOptions(declared, SOURCE_OPTIONS).epilogue(
    'Every option is also a CASCADE_* variable (--on-complete: CASCADE_ON_COMPLETE) and a cascade.* kernel ' +
      'parameter (cascade.on-complete=…): flags win, then the environment, then the kernel command line.',
  );
  return sourced.middleware((argv) => {
    const r = applyConfigSources(argv, keys, process.argv.slice(2), process.env);
    origins = r.origins;
    for (const w of r.warnings) process.stderr.write(`cascade: warning: ${w}\n`);
    if (argv['show-config']) {
      process.stdout.write(describeConfig(r, keys));
      process.exit(0);
    }
  }, true);
}
