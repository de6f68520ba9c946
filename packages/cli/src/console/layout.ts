import type { Section } from './sections.js';

/**
 * Fit titled sections into `budget` lines: every section keeps its title; rows are handed out
 * one at a time to each section in turn, so no list starves the others. A cut list ends with
 * `… N more`. Sections that do not fit even as a title are dropped from the end.
 */
export function layoutSections(sections: Section[], budget: number): string[] {
  let kept = sections;
  while (kept.length > 0 && kept.length > budget) kept = kept.slice(0, -1);
  const grant = kept.map(() => 0);
  let left = budget - kept.length;
  for (let progress = true; left > 0 && progress;) {
    progress = false;
    for (let i = 0; i < kept.length && left > 0; i++) {
      if (grant[i]! < kept[i]!.rows.length) {
        grant[i]!++;
        left--;
        progress = true;
      }
    }
  }
  const lines: string[] = [];
  kept.forEach((s, i) => {
    lines.push(s.title);
    const n = grant[i]!;
    if (n >= s.rows.length) lines.push(...s.rows);
    else if (n > 0) lines.push(...s.rows.slice(0, n - 1), `  … ${s.rows.length - n + 1} more`);
  });
  return lines;
}
