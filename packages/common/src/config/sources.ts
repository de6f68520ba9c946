import { CascadeError } from '../errors.js';

/** How a setting's text is read; a `list` is comma-separated in the environment and on the kernel line. */
export type ConfigKind = 'string' | 'number' | 'boolean' | 'list';

/** One setting that may come from a flag, the environment or the kernel command line. */
export interface ConfigKey {
  /** The flag's name without dashes (`on-complete`); env `CASCADE_ON_COMPLETE`, cmdline `cascade.on-complete`. */
  name: string;
  kind: ConfigKind;
  /** The only values allowed (a `string` setting). */
  choices?: readonly string[];
  /** Extra validation of the value read (a number, a string, each list item); throw to reject it. */
  check?: (value: never) => void;
  /** What a unit-carrying text means (`100Mb` → 12500000), shown by --show-config; throws like check. */
  parse?: (value: string) => number;
  /** The unit of `parse`'s result (`B/s`, `B`, `ms`). */
  unit?: string;
}

/** Where a resolved value came from, highest precedence first. */
export type ConfigOrigin = 'flag' | 'env' | 'cmdline' | 'default';

export interface ConfigLayers {
  /** Only the flags given explicitly on the command line. */
  flags: Record<string, unknown>;
  env: Record<string, string | undefined>;
  /** `cascade.*` kernel parameters by name after the prefix (see cascadeParams). */
  cmdline: ReadonlyMap<string, string | null>;
  defaults: Record<string, unknown>;
}

export interface ResolvedConfig {
  values: Record<string, unknown>;
  origins: Record<string, ConfigOrigin>;
  /** Unknown `cascade.*` kernel parameters: reported, not ignored. */
  warnings: string[];
}

/** `on-complete` → `CASCADE_ON_COMPLETE`. */
export function envName(name: string): string {
  return `CASCADE_${name.toUpperCase().replace(/-/g, '_')}`;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

function bad(where: string, message: string, cause?: unknown): CascadeError {
  return new CascadeError('ERR_BAD_CONFIG', `${where}: ${message}`, cause === undefined ? {} : { cause });
}

/** Read one text value as `key` wants it; `null` is a bare kernel flag (`cascade.reuse`). */
function readValue(key: ConfigKey, raw: string | null, where: string): unknown {
  if (raw === null) {
    if (key.kind === 'boolean') return true;
    throw bad(where, 'needs a value (write it as key=value)');
  }
  let value: unknown = raw;
  if (key.kind === 'list') {
    value = raw
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
  } else if (key.kind === 'number') {
    value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) throw bad(where, `expected a number, got "${raw}"`);
  } else if (key.kind === 'boolean') {
    const v = raw.trim().toLowerCase();
    if (!TRUE.has(v) && !FALSE.has(v)) throw bad(where, `expected true or false, got "${raw}"`);
    value = TRUE.has(v);
  }
  return checkValue(key, value, where);
}

/** Run the key's choices, check and parse on a value of its kind (each item of a list). */
function checkValue(key: ConfigKey, value: unknown, where: string): unknown {
  for (const v of Array.isArray(value) ? (value as unknown[]) : [value]) {
    if (key.choices && !key.choices.includes(String(v)))
      throw bad(where, `expected one of ${key.choices.join(', ')}, got "${String(v)}"`);
    try {
      key.check?.(v as never);
      if (key.parse && typeof v === 'string') key.parse(v);
    } catch (err) {
      // a checker's own "name: " prefix would repeat `where`
      throw bad(where, (err as Error).message.replace(/^[\w-]+: /, ''), err);
    }
  }
  return value;
}

/** Validate a flag value yargs already parsed (a number flag given "abc" arrives as NaN). */
function checkFlag(key: ConfigKey, value: unknown): unknown {
  const where = `--${key.name}`;
  if (key.kind === 'number' && (typeof value !== 'number' || !Number.isFinite(value)))
    throw bad(where, `expected a number, got "${String(value)}"`);
  return checkValue(key, value, where);
}

/**
 * Merge the four configuration sources: flags > `CASCADE_*` environment > kernel command line
 * (`cascade.*`) > defaults. An invalid value throws ERR_BAD_CONFIG naming where it came from;
 * an unknown `cascade.*` parameter becomes a warning. `-` and `_` are the same in parameter names.
 */
export function resolveConfig(
  keys: readonly ConfigKey[],
  layers: ConfigLayers,
  /** `cascade.*` parameters another reader takes (the boot script's): not settings, not unknown. */
  readElsewhere: readonly string[] = [],
): ResolvedConfig {
  const values: Record<string, unknown> = {};
  const origins: Record<string, ConfigOrigin> = {};
  const cmdline = new Map<string, string | null>();
  for (const [k, v] of layers.cmdline) cmdline.set(k.replace(/_/g, '-'), v);
  for (const key of keys) {
    const env = layers.env[envName(key.name)];
    const fromCmdline = cmdline.get(key.name);
    if (layers.flags[key.name] !== undefined) {
      values[key.name] = checkFlag(key, layers.flags[key.name]);
      origins[key.name] = 'flag';
    } else if (env !== undefined && env !== '') {
      values[key.name] = readValue(key, env, envName(key.name));
      origins[key.name] = 'env';
    } else if (fromCmdline !== undefined && fromCmdline !== '') {
      values[key.name] = readValue(key, fromCmdline, `kernel command line cascade.${key.name}`);
      origins[key.name] = 'cmdline';
    } else if (layers.defaults[key.name] !== undefined) {
      values[key.name] = layers.defaults[key.name];
      origins[key.name] = 'default';
    }
  }
  const known = new Set(keys.map((k) => k.name));
  const warnings = [...cmdline.keys()]
    .filter((k) => !known.has(k) && !readElsewhere.includes(k))
    .map(
      (k) =>
        `kernel command line: unknown parameter cascade.${k} — not a setting of this command (known: ${[...known].join(', ')})`,
    );
  return { values, origins, warnings };
}
