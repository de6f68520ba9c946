/** What every benchmark returns, and how its tables are printed (text for the terminal, markdown for BENCHMARKS.md). */
export interface BenchTable {
  title: string;
  header: string[];
  rows: string[][];
  /** Lines printed under the table: baselines, CPU use, skipped parts and why. */
  notes: string[];
}

export interface BenchResult {
  id: number;
  name: string;
  tables: BenchTable[];
  /** Raw figures for bench/results/latest.json. */
  data: Record<string, unknown>;
  seconds?: number;
}

export function renderText(t: BenchTable): string {
  const all = [t.header, ...t.rows];
  const widths = t.header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [t.title, '', line(t.header), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(line)];
  if (t.notes.length > 0) out.push('', ...t.notes.map((n) => `  ${n}`));
  return `${out.join('\n')}\n`;
}

export function renderMarkdown(t: BenchTable): string {
  const esc = (c: string): string => c.replace(/\|/g, '\\|');
  const out = [
    `### ${t.title}`,
    '',
    `| ${t.header.map(esc).join(' | ')} |`,
    `|${t.header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ];
  if (t.notes.length > 0) out.push('', ...t.notes.map((n) => `- ${n}`));
  return `${out.join('\n')}\n`;
}

/** `a / b` as `0.93 ×`. */
export function ratio(a: number, b: number): string {
  return Number.isFinite(a / b) ? `${(a / b).toFixed(2)} ×` : '—';
}

/** Bytes over milliseconds as MB/s (10^6 bytes). */
export function mbPerS(bytes: number, ms: number): number {
  return bytes / ms / 1000;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** Median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The p-th percentile (0..100), nearest rank. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}
