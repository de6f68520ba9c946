/** One `key[=value]` word of a kernel command line; `value` is null for a bare flag (`quiet`). */
export interface CmdlineParam {
  key: string;
  value: string | null;
}

/** Characters the kernel treats as separators (it splits on any whitespace). */
const SPACE = /\s/;

/**
 * Split a kernel command line (the text of /proc/cmdline) into parameters, as the kernel does:
 * words separated by any run of whitespace; double quotes (and, for hand-written boot entries,
 * single quotes) group text with spaces and are removed, wherever they appear in the word
 * (`cascade.x="a b"` and `"cascade.x=a b"` are the same); an unterminated quote runs to the end;
 * a bare `--` ends the kernel's parameters (what follows belongs to init). Pure: never throws.
 */
export function parseKernelCmdline(text: string): CmdlineParam[] {
  const params: CmdlineParam[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && SPACE.test(text[i]!)) i++;
    if (i >= text.length) break;
    let word = '';
    let quote: string | null = null;
    let quoted = false;
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (quote) {
        if (c === quote) quote = null;
        else word += c;
      } else if (c === '"' || c === "'") {
        quote = c;
        quoted = true;
      } else if (SPACE.test(c)) {
        break;
      } else {
        word += c;
      }
    }
    if (word === '--' && !quoted) break;
    const eq = word.indexOf('=');
    if (eq === 0 || word === '') continue; // "=x" or an empty "" names nothing
    params.push(eq < 0 ? { key: word, value: null } : { key: word.slice(0, eq), value: word.slice(eq + 1) });
  }
  return params;
}

/**
 * The `cascade.*` parameters of a command line as a map from the name after the prefix
 * (`cascade.coordinator=…` → `coordinator`), later words winning as they do for the kernel.
 * A bare `cascade.reuse` maps to `null`: present, without a value.
 */
export function cascadeParams(params: readonly CmdlineParam[], prefix = 'cascade.'): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const p of params) {
    if (!p.key.startsWith(prefix) || p.key.length === prefix.length) continue;
    out.set(p.key.slice(prefix.length), p.value);
  }
  return out;
}
