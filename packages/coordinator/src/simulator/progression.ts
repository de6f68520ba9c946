import type { ProgressPoint } from './simulate.js';

/** Machines imaged at time t: the last point at or before t (a nanosecond of float noise allowed). */
export function imagedAt(points: readonly ProgressPoint[], t: number): number {
  const limit = t + 1e-6 * Math.max(1, Math.abs(t));
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((points[mid] as ProgressPoint).atMs <= limit) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? 0 : (points[lo - 1] as ProgressPoint).imaged;
}

/** Every `stepMs` from the first step until the first sample at or after `untilMs`. */
export function sampleTimes(stepMs: number, untilMs: number): number[] {
  if (!(stepMs > 0)) throw new RangeError(`step must be positive, got ${stepMs}`);
  const out: number[] = [];
  const end = untilMs - 1e-6 * Math.max(1, untilMs);
  for (let k = 1; ; k++) {
    const t = k * stepMs;
    out.push(t);
    if (t >= end || out.length >= 10_000) return out;
  }
}

const NICE_STEPS_MS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
].map((s) => s * 1000);

/** A round step that cuts `spanMs` into about `rows` rows. */
export function niceStep(spanMs: number, rows = 10): number {
  const want = spanMs / rows;
  for (const s of NICE_STEPS_MS) if (s >= want) return s;
  return Math.ceil(want / 86_400_000) * 86_400_000;
}

/** The unit a table of `stepMs` steps reads best in. */
export function timeUnit(stepMs: number): { ms: number; label: string } {
  if (stepMs >= 3_600_000 && stepMs % 3_600_000 === 0) return { ms: 3_600_000, label: 'h' };
  if (stepMs >= 60_000 && stepMs % 60_000 === 0) return { ms: 60_000, label: 'min' };
  return { ms: 1000, label: 's' };
}

/** `4.5 min`, `100 min`, `12 s`. */
export function formatInUnit(ms: number, unit: { ms: number; label: string }): string {
  const v = ms / unit.ms;
  const text = Number.isInteger(Math.round(v * 1000) / 1000) ? String(Math.round(v)) : v.toFixed(1);
  return `${text} ${unit.label}`;
}

/** `1h40m00s`, `20m00s`, `68.7s`. */
export function formatSpan(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = String(Math.floor((total % 3600) / 60)).padStart(2, '0');
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}h${m}m${s}s` : `${Number(m)}m${s}s`;
}
