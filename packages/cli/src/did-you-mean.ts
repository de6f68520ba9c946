/**
 * "Did you mean": yargs' recommendCommands covers commands; for a typo'd option, strict mode's
 * failure message names the unknown arguments and this suggests the nearest known option.
 */

/** Edit distance (insert, delete, substitute, swap two neighbours); past `max` when the lengths alone say so. */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      row.push(d);
    }
    prev2 = prev;
    prev = row;
  }
  return prev[b.length]!;
}

/** The known option nearest to `typed` (at most 2 edits, fewer for short names), if any. */
export function nearestOption(typed: string, known: readonly string[]): string | undefined {
  const name = typed.replace(/^-+/, '').split('=')[0]!;
  const max = name.length <= 4 ? 1 : 2;
  let best: { option: string; d: number } | undefined;
  for (const option of known) {
    if (option.length <= 1) continue;
    const d = editDistance(name, option, max);
    if (d <= max && (!best || d < best.d)) best = { option, d };
  }
  return best?.option;
}

/** Options typed in `args` (up to a bare `--`) that are not known (`--no-x` counts as `--x`). */
export function unknownFlags(args: readonly string[], known: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (a === '--') break;
    const m = /^--?([^=]+)/.exec(a);
    if (!m || /^-\d/.test(a)) continue;
    const name = m[1]!;
    if (!known.includes(name) && !known.includes(name.replace(/^no-/, '')) && name.length > 1) out.push(name);
  }
  return out;
}

/**
 * A usage error (`Unknown argument: tagret`, or `Missing required argument: target` when the
 * typo was of a required option) with a suggestion for each unknown option `args` typed that is
 * near a known one.
 */
export function withSuggestions(msg: string, args: readonly string[], known: readonly string[]): string {
  const hints = unknownFlags(args, known)
    .map((typed) => [typed, nearestOption(typed, known)] as const)
    .filter((h): h is readonly [string, string] => h[1] !== undefined)
    .map(([typed, option]) => `--${typed}: did you mean --${option}?`);
  return hints.length === 0 ? msg : `${msg} (${hints.join('; ')})`;
}
