import { formatBytes, formatDuration } from '@cascade/common';
import type { LabResult } from './run-lab.js';

/** Machines imaged at `steps` evenly spaced times up to the makespan (like the CSUS table). */
export function progression(result: LabResult, steps = 8): Array<{ atMs: number; imaged: number }> {
  const times = result.peers
    .map((p) => p.imagedAfterMs)
    .filter((t): t is number => t !== null)
    .sort((a, b) => a - b);
  const end = result.makespanMs;
  if (end <= 0) return [];
  const rows: Array<{ atMs: number; imaged: number }> = [];
  for (let k = 1; k <= steps; k++) {
    const at = Math.round((end * k) / steps);
    rows.push({ atMs: at, imaged: times.filter((t) => t <= at).length });
  }
  return rows;
}

export function renderSummary(result: LabResult, header: string): string {
  const out: string[] = [header, ''];
  out.push('peer       result  imaged at  served by                received    served');
  for (const p of result.peers) {
    const res = p.exit === 0 && p.byteExact ? 'ok' : p.byteExact ? `exit ${p.exit}` : 'DIFFERS';
    out.push(
      [
        p.name.padEnd(10),
        res.padEnd(7),
        (p.imagedAfterMs === null ? '—' : formatDuration(p.imagedAfterMs)).padStart(9),
        ` ${(p.servers.join(', ') || '—').padEnd(24)}`,
        formatBytes(p.bytesReceived).padStart(10),
        formatBytes(p.bytesServed).padStart(10),
      ].join(' '),
    );
    if (p.error) out.push(`           ${p.error} (log: ${p.logFile})`);
  }
  out.push('', 'progression (machines imaged over time):');
  for (const row of progression(result))
    out.push(`  ${formatDuration(row.atMs).padStart(8)}  ${String(row.imaged).padStart(4)}`);
  const bySeeder = result.peers.filter((p) => p.servers.includes('seeder')).length;
  const byPeers = result.peers.filter((p) => p.servers.some((s) => s !== 'seeder')).length;
  const exact = result.peers.filter((p) => p.byteExact).length;
  out.push('', `served by the seeder: ${bySeeder} · served by peers: ${byPeers}`);
  const cascade = result.cascadeMs === null ? '' : ` (${formatDuration(result.cascadeMs)} from the session's start)`;
  out.push(
    `total: ${exact}/${result.peers.length} byte-exact, makespan ${formatDuration(result.makespanMs)}${cascade}${result.ok ? '' : ' — FAILED'}`,
  );
  return `${out.join('\n')}\n`;
}
