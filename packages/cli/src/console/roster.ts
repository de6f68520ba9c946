import type { SessionStatus } from '@cascade/coordinator';
import type { Section } from './sections.js';

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

/**
 * Every machine that failed: its name, address and MAC with the code on one line, the reason it
 * gave on the next (a reason is long: `target /dev/sdz: ENOENT: no such file or directory`).
 */
export function failedSection(s: SessionStatus): Section {
  const failed = s.roster.filter((r) => r.outcome === 'failed');
  return {
    title: `FAILED ${failed.length}`,
    rows: failed.flatMap((r) => [`  ${machineLabel(r)}  ${r.code ?? '?'}`, `      ${r.reason ?? ''}`]),
  };
}
