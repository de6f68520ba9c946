import type { SessionStatus } from '@cascade/coordinator';
import type { Section } from './sections.js';
import { fit } from './text.js';

/**
 * The roster's summary: `imaged 38 · failed 1 · waiting 1 of 40 expected`, then how many left
 * or were lost (from the listed roster) when any did.
 */
export function rosterLine(s: SessionStatus): string {
  const { imaged, failed, waiting, expected } = s.summary;
  const line = `imaged ${imaged} · failed ${failed} · waiting ${waiting}${expected === null ? '' : ` of ${expected} expected`}`;
  const left = s.roster.filter((r) => r.outcome === 'left').length;
  const lost = s.roster.filter((r) => r.outcome === 'lost').length;
  return `${line}${left > 0 ? ` · left ${left}` : ''}${lost > 0 ? ` · lost ${lost}` : ''}`;
}

/** `name (ip · mac)`: how an operator finds the machine. */
export function machineLabel(m: { name: string; ip: string | null; mac: string | null }): string {
  const where = [m.ip, m.mac].filter((x): x is string => x !== null);
  return where.length > 0 ? `${m.name} (${where.join(' · ')})` : m.name;
}

/** Every machine that failed, with its address, MAC, code and reason: failures stay listed. */
export function failedSection(s: SessionStatus, width: number): Section {
  const failed = s.roster.filter((r) => r.outcome === 'failed');
  const who = Math.max(16, Math.min(52, Math.floor(width * 0.45)));
  return {
    title: `FAILED ${failed.length}`,
    rows: failed.map((r) => `  ${fit(machineLabel(r), who)} ${fit(r.code ?? '?', 22)} ${r.reason ?? ''}`),
  };
}
