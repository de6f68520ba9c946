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

export const DEFAULT_CMDLINE_FILE = '/proc/cmdline';

export interface SourceArgs {
  'cmdline-file': string;
  'show-config': boolean;
}

/** The logging options every role takes, as config keys. */
export const LOG_KEYS: ConfigKey[] = [
  { name: 'log-level', kind: 'string' },
  { name: 'log-format', kind: 'string' },
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
): ResolvedConfig {
  const given = explicitFlags(rawArgs);
  const flags: Record<string, unknown> = {};
  const defaults: Record<string, unknown> = {};
  for (const k of keys) (given.has(k.name) ? flags : defaults)[k.name] = argv[k.name];
  const cmdline = readCmdline(String(argv['cmdline-file'] ?? DEFAULT_CMDLINE_FILE));
  const resolved = resolveConfig(keys, { flags, env, cmdline, defaults });
  for (const [name, value] of Object.entries(resolved.values)) {
    argv[name] = value;
    argv[camel(name)] = value;
  }
  return resolved;
}

/** What `--show-config` prints: each setting with where it came from. */
function describeConfig(r: ResolvedConfig): string {
  const settings: Record<string, { value: unknown; from: ConfigOrigin }> = {};
  for (const [name, from] of Object.entries(r.origins)) settings[name] = { value: r.values[name], from };
  return `${JSON.stringify({ settings, warnings: r.warnings }, null, 2)}\n`;
}

/**
 * Let a command's options come from flags > `CASCADE_*` environment > kernel command line
 * (`cascade.*`, read from --cmdline-file) > defaults. Runs before yargs validates, so a
 * required option set in the environment or on the kernel command line counts as given.
 */
export function withConfigSources<T>(y: Argv<T>, keys: readonly ConfigKey[]): Argv<T & SourceArgs> {
  return y
    .option('cmdline-file', {
      type: 'string',
      default: DEFAULT_CMDLINE_FILE,
      describe: 'kernel command line to read cascade.* settings from',
      group: 'Configuration:',
    })
    .option('show-config', {
      type: 'boolean',
      default: false,
      describe: 'print each setting and where it came from, then exit',
      group: 'Configuration:',
    })
    .middleware((argv) => {
      const r = applyConfigSources(argv, [...keys, ...LOG_KEYS], process.argv.slice(2), process.env);
      for (const w of r.warnings) process.stderr.write(`cascade: warning: ${w}\n`);
      if (argv['show-config']) {
        process.stdout.write(describeConfig(r));
        process.exit(0);
      }
    }, true) as unknown as Argv<T & SourceArgs>;
}
