import { parseSize } from '@cascade/common';

/** Flags that take no value. */
const SWITCHES = new Set(['quick', 'no-netns']);
/** Every option some benchmark reads (a typo is an error, not a silent default). */
const KNOWN = new Set([
  ...SWITCHES,
  'stream-size',
  'size',
  'hosts',
  'relay-capacity',
  'methods',
  'seed-args',
  'slow-host',
  'udp-bitrate',
  'peers',
  'want-rate',
  'sim-peers',
  'peer-image',
  'fs',
  'image-size',
  'file-digests',
]);

/** Options shared by every benchmark: `--quick`, `--no-netns` and `--name value` pairs (e.g. `--size 64MiB`). */
export class BenchOptions {
  constructor(
    readonly quick: boolean,
    private readonly values: ReadonlyMap<string, string>,
  ) {}

  /** Parse `1 3 --quick --size 64MiB`: numbers choose benchmarks, the rest are options. */
  static parse(argv: string[]): { only: number[]; options: BenchOptions } {
    const only: number[] = [];
    const values = new Map<string, string>();
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (/^\d+$/.test(a)) only.push(Number(a));
      else if (a.startsWith('--')) {
        const [k, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
        const next = argv[i + 1];
        if (!KNOWN.has(k)) throw new Error(`unknown option --${k} (known: ${[...KNOWN].join(', ')})`);
        if (SWITCHES.has(k)) values.set(k, 'true');
        else if (inline !== undefined) values.set(k, inline);
        else if (next !== undefined && !next.startsWith('--')) values.set(k, argv[++i]!);
        else throw new Error(`--${k} needs a value`);
      } else throw new Error(`unknown argument "${a}" (expected benchmark numbers and --options)`);
    }
    return { only, options: new BenchOptions(values.has('quick'), values) };
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  size(name: string, full: string, quick: string): number {
    return parseSize(this.values.get(name) ?? (this.quick ? quick : full));
  }

  number(name: string, full: number, quick: number): number {
    const v = this.values.get(name);
    if (v === undefined) return this.quick ? quick : full;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${v}"`);
    return n;
  }

  string(name: string, fallback: string): string {
    return this.values.get(name) ?? fallback;
  }
}
