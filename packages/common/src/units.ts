import { CascadeError } from './errors.js';

/*
 * Units are case-sensitive and conventional (IEC 80000-13 / SI):
 *   B = byte, b or bit = bit;
 *   k M G T = 1000^n (k is lower case, as SI writes it: `K` is refused, because `KB` is read as
 *   1000 by some tools and 1024 by others, and `k` vs `Ki` already says which one is meant);
 *   KiB MiB GiB TiB = 1024^n;
 *   a rate may end in `/s`.
 * A size is always in bytes: `256MiB`, `12MB`, `4096` (bare number: bytes). A bare prefix (`8G`)
 * is refused: it does not say bits or bytes, decimal or binary.
 * A rate is bytes or bits per second: `12MB` = `12MB/s` = 12,000,000 B/s; `100Mb` = `100Mbit` =
 * `100Mbit/s` = 12,500,000 B/s; a bare number is bytes per second.
 */

const DECIMAL: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** The accepted spellings, quoted in every refusal. */
export const SIZE_FORMS = 'N (bytes), NB, NkB, NMB, NGB, NTB (×1000), NKiB, NMiB, NGiB, NTiB (×1024)';
export const RATE_FORMS =
  'bytes/s: N, NB, NkB, NMB, NGB, NTB, NKiB, NMiB, NGiB, NTiB; bits/s: Nb, Nkb, NMb, NGb, NTb (or Nbit, Nkbit, NMbit, NGbit); each with an optional /s';
export const DURATION_FORMS = 'N (seconds), Nms, Ns, Nm or Nmin, Nh, Nd';

function split(input: string, what: string, forms: string): [number, string] {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z/]*)\s*$/.exec(input);
  if (!m) throw new CascadeError('ERR_BAD_UNIT', `cannot read ${what} "${input}" (accepted: ${forms})`);
  return [Number(m[1]), m[2] ?? ''];
}

/** Bytes per unit of a byte unit (`B`, `kB`, `MiB`, `` for none), or undefined. */
function byteUnit(unit: string): number | undefined {
  if (unit === '') return 1;
  if (!unit.endsWith('B')) return undefined;
  const prefix = unit.slice(0, -1);
  return DECIMAL[prefix] ?? BINARY[prefix];
}

/** Bytes per unit of a bit unit (`b`, `kb`, `Mbit`, …), or undefined. Bit prefixes are decimal. */
function bitUnit(unit: string): number | undefined {
  const m = /^(|k|M|G|T)(b|bit)$/.exec(unit);
  return m ? DECIMAL[m[1]!]! / 8 : undefined;
}

function refuse(what: string, input: string, forms: string, hint = ''): never {
  throw new CascadeError('ERR_BAD_UNIT', `${what} "${input}" has an unknown unit${hint} (accepted: ${forms})`);
}

function hintFor(unit: string): string {
  if (/^K(i?B|b|bit)?$/.test(unit)) return ': K is not a unit, write k (×1000) or Ki (×1024)';
  if (/^[kMGT]$/.test(unit)) return `: "${unit}" alone says neither bits nor bytes`;
  if (/ps$/i.test(unit)) return ': write /s, not ps';
  return '';
}

/** Parse a byte size: `4096`, `256MiB`, `12MB`, `1.5GiB`. Decimal units are powers of 1000. */
export function parseSize(input: string | number): number {
  if (typeof input === 'number') return checkWhole(input, String(input), 'size');
  const [n, unit] = split(input, 'size', SIZE_FORMS);
  const mult = byteUnit(unit);
  if (mult === undefined) refuse('size', input, SIZE_FORMS, hintFor(unit));
  return checkWhole(Math.round(n * mult), input, 'size');
}

/**
 * Parse a rate into bytes per second: `12MB` or `12MB/s` (bytes), `100Mb`, `100Mbit` or
 * `100Mbit/s` (bits: 12,500,000 B/s).
 */
export function parseRate(input: string | number): number {
  if (typeof input === 'number') return checkWhole(input, String(input), 'rate');
  const [n, rawUnit] = split(input, 'rate', RATE_FORMS);
  const unit = rawUnit.endsWith('/s') ? rawUnit.slice(0, -2) : rawUnit;
  const mult = bitUnit(unit) ?? byteUnit(unit);
  if (mult === undefined) refuse('rate', input, RATE_FORMS, hintFor(unit));
  return checkWhole(Math.round(n * mult), input, 'rate');
}

/** Parse a duration into milliseconds: `90s`, `20m`, `1.5h`, `250ms`; a bare number is seconds. */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') return checkWhole(Math.round(input * 1000), String(input), 'duration');
  const [n, unit] = split(input, 'duration', DURATION_FORMS);
  const mult = unit === '' ? 1000 : DURATION_UNITS[unit];
  if (mult === undefined) refuse('duration', input, DURATION_FORMS);
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
