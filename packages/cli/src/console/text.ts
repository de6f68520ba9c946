/** Plain-text building blocks of the console: every function is pure and emits no escapes. */
import { formatDuration, formatRate } from '@cascade/common';

/**
 * Time to move `bytes` at `rate` B/s, or `—` when there is no rate to go by: unknown, 0, or so
 * small that it shows as 0.0 MB/s (an ETA of 1703h at "0.0 MB/s" says nothing).
 */
export function etaText(bytes: number, rate: number): string {
  if (!Number.isFinite(rate) || formatRate(rate) === formatRate(0) || rate <= 0) return '—';
  return formatDuration((Math.max(0, bytes) * 1000) / rate);
}

/** Control characters (C0, DEL, C1) in names from the network could move the cursor: shown as `?`. */
export function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** `s` cut to `width` (ending in `…` when cut) and padded to exactly `width`. */
export function fit(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  const c = clean(s);
  const cut = c.length > width ? `${c.slice(0, width - 1)}…` : c;
  return align === 'left' ? cut.padEnd(width) : cut.padStart(width);
}

/** A line no longer than `width` (never padded, so captures stay tidy). */
export function clip(s: string, width: number): string {
  const c = clean(s);
  return c.length > width ? `${c.slice(0, Math.max(0, width - 1))}…` : c;
}

/** `[██████░░░░]`: a progress bar of `width` cells including the brackets. */
export function bar(fraction: number, width: number): string {
  const inner = Math.max(1, width - 2);
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const full = Math.round(f * inner);
  return `[${'█'.repeat(full)}${'░'.repeat(inner - full)}]`;
}

const SPARK = '▁▂▃▄▅▆▇█';

/**
 * Machines imaged over time as a sparkline of `width` cells from `from` to `to`: each cell
 * shows the count reached by the end of its time slot, scaled to `max`.
 */
export function sparkline(
  points: ReadonlyArray<{ at: number; imaged: number }>,
  from: number,
  to: number,
  width: number,
  max: number,
): string {
  if (width <= 0) return '';
  const span = Math.max(1, to - from);
  let j = 0;
  let value = 0;
  let out = '';
  for (let i = 0; i < width; i++) {
    const t = from + ((i + 1) * span) / width;
    while (j < points.length && points[j]!.at <= t) value = points[j++]!.imaged;
    const level = value <= 0 || max <= 0 ? 0 : Math.max(1, Math.ceil((value / max) * (SPARK.length - 1)));
    out += SPARK[Math.min(SPARK.length - 1, level)];
  }
  return out;
}

/** Wall-clock `HH:MM:SS` (local time). */
export function clock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}
