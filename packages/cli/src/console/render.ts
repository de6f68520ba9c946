import { formatBytes, formatDuration, formatRate, type SessionBytes } from '@cascade/common';
import type { SessionStatus, StatusSnapshot } from '@cascade/coordinator';
import { gatingText } from './gating.js';
import { layoutSections } from './layout.js';
import { failedSection, rosterLine } from './roster.js';
import { clientSection, serverSection, transferSection, treeSection, type Section } from './sections.js';
import { clip, clock, etaText, sparkline } from './text.js';

export interface ConsoleSize {
  columns: number;
  /** Lines available; Infinity for a plain snapshot that is never cut. */
  rows: number;
}

export interface ConsoleView {
  /** Show the who-served-whom tree. */
  tree: boolean;
  /** Where the snapshot came from, shown in the header. */
  source?: string;
  /** Show the key help (live view only). */
  keys?: boolean;
}

const MIN_COLUMNS = 40;

/**
 * The console as lines of plain text: a pure function of a status snapshot, the terminal size
 * and the view toggles. Never more than `rows` lines, none longer than `columns`; no escapes.
 */
export function renderConsole(s: StatusSnapshot, size: ConsoleSize, view: ConsoleView): string[] {
  const width = Math.max(MIN_COLUMNS, size.columns);
  const rows = Math.max(1, size.rows);
  const head = `cascade status${view.source ? ` · ${view.source}` : ''} · ${clock(s.now)}`;
  const keys = view.keys ? `t: tree ${view.tree ? 'off' : 'on'} · q: quit` : '';
  const gap = width - head.length - keys.length;
  const lines = [gap >= 1 ? `${head}${' '.repeat(gap)}${keys}` : head];
  if (s.sessions.length === 0) lines.push('no sessions');
  const sections: Section[] = [];
  for (const session of s.sessions) {
    lines.push(...sessionSummary(session, s.now, width));
    sections.push(...sessionSections(session, s.now, width, view));
  }
  const warnings = s.warnings.slice(-20).reverse();
  if (warnings.length > 0)
    sections.push({ title: 'WARNINGS', rows: warnings.map((w) => `  ${clock(w.at)} ${w.event}: ${w.detail}`) });
  const out = [...lines, ...layoutSections(sections, rows - lines.length)];
  return out.slice(0, rows).map((l) => clip(l, width).trimEnd());
}

function sessionSections(session: SessionStatus, now: number, width: number, view: ConsoleView): Section[] {
  const list = [serverSection(session, width), clientSection(session, width, now), transferSection(session, width)];
  const failed = failedSection(session);
  if (failed.rows.length > 0) list.push(failed);
  if (view.tree) list.push(treeSection(session));
  return list;
}

/**
 * State and image; gating; the roster's summary; the aggregate rate, ETA and progression; and,
 * loudly, a session left without a complete source.
 */
export function sessionSummary(s: SessionStatus, now: number, width: number): string[] {
  const img = s.image ? `${s.image.name} ${formatBytes(s.image.size)}` : 'no image yet';
  const of = s.expected ? ` of ${s.expected}` : '';
  const rate = s.transfers.reduce((a, t) => a + t.rate, 0);
  const left = sessionBytesLeft(s);
  const from = s.startedAt ?? s.openedAt ?? now;
  const to = s.endedAt ?? now;
  const stats = `  rate ${formatRate(rate)} · ETA ${left === null ? '—' : etaText(left, rate)} · imaged over ${formatDuration(to - from)} `;
  const max = Math.max(s.expected ?? 0, s.imaged + s.transfers.length + s.waiting.length, 1);
  const spark = sparkline(s.progression, from, to, Math.max(0, Math.min(60, width - stats.length - 1)), max);
  const lines = [
    `SESSION ${s.name} · ${s.state.toUpperCase()} · ${img} · imaged ${s.imaged}${of}`,
    `  ${gatingText(s, now)}`,
    `  ${rosterLine(s)}`,
    ...(s.bytes ? [`  ${bytesLine(s.bytes)}`] : []),
    `${stats}${spark}`,
  ];
  if (s.noSource)
    lines.push('  !! NO COMPLETE SOURCE (ERR_NO_SOURCE): no seeder or imaged peer serves; start the seeder again');
  return lines;
}

/**
 * The image's sizes and what crossed the wire:
 * `image 1.0 GiB · used 410 MiB · wire ≈ 101 MiB · received 820 MiB in 202 MiB on the wire (4.06×)`.
 */
export function bytesLine(b: SessionBytes): string {
  const parts = [`image ${formatBytes(b.image)}`, `used ${formatBytes(b.used)}`];
  if (b.wireEstimate !== null) parts.push(`wire ≈ ${formatBytes(b.wireEstimate)}`);
  if (b.wire > 0 || b.payload > 0) {
    const ratio = b.ratio === null ? '' : ` (${b.ratio.toFixed(2)}×)`;
    parts.push(`received ${formatBytes(b.payload)} in ${formatBytes(b.wire)} on the wire${ratio}`);
  }
  return parts.join(' · ');
}

/**
 * Time left at the current aggregate rate: the bytes still missing for every machine in flight
 * or waiting (or, with an end count, for every machine still to image).
 */
export function sessionEta(s: SessionStatus, rate: number): number | null {
  const left = sessionBytesLeft(s);
  return left === null || rate <= 0 ? null : (left * 1000) / rate;
}

/** Bytes still to move before every expected machine is imaged, or null when the session is not running. */
function sessionBytesLeft(s: SessionStatus): number | null {
  if (!s.image || s.state !== 'running') return null;
  const inFlight = s.transfers.reduce((a, t) => a + t.bytes, 0);
  const machines = s.expected ? Math.max(0, s.expected - s.imaged) : s.transfers.length + s.waiting.length;
  return Math.max(0, machines * s.image.size - inFlight);
}
