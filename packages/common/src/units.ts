import { CascadeError } from './errors.js';

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

const RATE_BIT_UNITS: Record<string, number> = {
  bit: 1 / 8,
  kbit: 1e3 / 8,
  mbit: 1e6 / 8,
  gbit: 1e9 / 8,
  kibit: 2 ** 10 / 8,
  mibit: 2 ** 20 / 8,
  gibit: 2 ** 30 / 8,
  bps: 1 / 8,
  kbps: 1e3 / 8,
  mbps: 1e6 / 8,
  gbps: 1e9 / 8,
};

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

function split(input: string, what: string): [number, string] {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z/]*)\s*$/.exec(input);
  if (!m) throw new CascadeError('ERR_BAD_UNIT', `cannot parse ${what} "${input}"`);
  return [Number(m[1]), (m[2] ?? '').toLowerCase()];
}

/** Parse a byte size: `4096`, `256MiB`, `12MB`, `1.5GiB`. Decimal units are powers of 1000. */
export function parseSize(input: string | number): number {
  if (typeof input === 'number') return checkWhole(input, String(input), 'size');
  const [n, unit] = split(input, 'size');
  const mult = SIZE_UNITS[unit];
  if (mult === undefined) {
    throw new CascadeError(
      'ERR_BAD_UNIT',
      `unknown size unit "${unit}" in "${input}" (use B, KiB, MiB, GiB, KB, MB, GB)`,
    );
  }
  return checkWhole(Math.round(n * mult), input, 'size');
}

/**
 * Parse a rate in bytes per second: `12MB` or `12MB/s` (bytes), `100Mbit` or `100Mbps` (bits).
 */
export function parseRate(input: string | number): number {
  if (typeof input === 'number') return checkWhole(input, String(input), 'rate');
  const [n, rawUnit] = split(input, 'rate');
  const unit = rawUnit.endsWith('/s') ? rawUnit.slice(0, -2) : rawUnit;
  const bitMult = RATE_BIT_UNITS[unit];
  if (bitMult !== undefined) return checkWhole(Math.round(n * bitMult), input, 'rate');
  const mult = SIZE_UNITS[unit];
  if (mult === undefined) {
    throw new CascadeError(
      'ERR_BAD_UNIT',
      `unknown rate unit "${rawUnit}" in "${input}" (use MB/s, MiB/s, Mbit, Gbit)`,
    );
  }
  return checkWhole(Math.round(n * mult), input, 'rate');
}

/** Parse a duration into milliseconds: `90s`, `20m`, `1.5h`, `250ms`; a bare number is seconds. */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') return checkWhole(Math.round(input * 1000), String(input), 'duration');
  const [n, unit] = split(input, 'duration');
  const mult = unit === '' ? 1000 : DURATION_UNITS[unit];
  if (mult === undefined) {
    throw new CascadeError('ERR_BAD_UNIT', `unknown duration unit "${unit}" in "${input}" (use ms, s, m, h)`);
  }
  return checkWhole(Math.round(n * mult), input, 'duration');
}

function checkWhole(n: number, input: string, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new CascadeError('ERR_BAD_UNIT', `${what} "${input}" is out of range`);
  }
  return n;
}

/** `268435456` → `256.0 MiB`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Milliseconds → `1h02m03s`, `4m05s`, `12.3s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)}s`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}h${mm}m${ss}s` : `${m}m${ss}s`;
}

/** Bytes per second → `11.9 MB/s`. */
export function formatRate(bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
}
