import { renderChart } from './chart.js';
import { SEEDER_START_MS, type SimModel } from './model.js';
import { formatInUnit, formatSpan, imagedAt, niceStep, sampleTimes, timeUnit } from './progression.js';
import { REROUTE_MAX_PEERS, type SimulationParams } from './params.js';
import type { SimulationResult } from './simulate.js';

/** What a report needs besides the runs: the parameters, and the table's step (default: a round tenth). */
export interface ReportOptions {
  params: Omit<SimulationParams, 'mode'>;
  /** The relay run's seeder capacity, when it differs from the classic run's (`--mode both`). */
  relaySeederCapacity?: number;
  everyMs?: number;
  chartWidth?: number;
  chartHeight?: number;
}

/** How long a run lasted: its makespan, or for a run that got stuck, until its last event. */
function span(run: SimulationResult): number {
  return run.complete ? run.makespanMs : Math.max(run.makespanMs, run.lastEventMs);
}

/** The table's step: the one asked for, or a round step giving about ten rows. */
export function reportStep(runs: readonly SimulationResult[], everyMs?: number): number {
  return everyMs ?? niceStep(Math.max(1, ...runs.map(span)));
}

/** Rows of (time, machines imaged in each run), every step until the last run is done. */
export function progressionRows(
  runs: readonly SimulationResult[],
  everyMs: number,
): Array<{ atMs: number; imaged: number[] }> {
  const until = Math.max(0, ...runs.map(span));
  return sampleTimes(everyMs, until).map((atMs) => ({ atMs, imaged: runs.map((r) => imagedAt(r.progression, atMs)) }));
}

/** The whole text report: header, progression table, summaries, chart. */
export function formatReport(runs: readonly SimulationResult[], opts: ReportOptions): string {
  const step = reportStep(runs, opts.everyMs);
  const relay = runs.some((r) => r.mode === 'relay');
  const classic = runs.some((r) => r.mode === 'classic');
  const header = describeParams(opts.params, { relay, classic, relaySeederCapacity: opts.relaySeederCapacity });
  const lines = [header, '', ...formatTable(runs, step), ''];
  for (const run of runs) lines.push(...formatSummary(run, opts.params.model.kind === 'fluid'));
  const unit = timeUnit(step);
  const chart = renderChart(
    runs.map((r) => ({ label: r.mode, points: r.progression })),
    {
      maxY: opts.params.peers,
      // One step past the last row, so the final jump shows as a rise and then a plateau.
      endMs: (progressionRows(runs, step).length + 1) * step,
      width: opts.chartWidth ?? 64,
      height: opts.chartHeight ?? 12,
      formatX: (ms) => formatInUnit(ms, unit),
    },
  );
  lines.push('', 'machines imaged over time', ...chart);
  return `${lines.join('\n')}\n`;
}

export function describeParams(
  p: Omit<SimulationParams, 'mode'>,
  modes: { relay?: boolean; classic?: boolean; relaySeederCapacity?: number | undefined } = {},
): string {
  const fail = p.fail ? ` · ${(p.fail * 100).toFixed(1)}% of peers lost at random (seed ${p.seed ?? 1})` : '';
  const seeder = modes.relaySeederCapacity ?? p.seederCapacity;
  const relay = modes.relay ? describeRelay(p, modes.classic && seeder !== p.seederCapacity ? seeder : null) : '';
  const capacities = `seeder capacity ${modes.classic === false ? seeder : p.seederCapacity} · peer capacity ${p.peerCapacity}`;
  return `${p.peers} peers · ${capacities}${relay} · ${describeModel(p.model)}${fail}`;
}

function describeRelay(p: Omit<SimulationParams, 'mode'>, seeder: number | null): string {
  const forward = p.forward === 'store-and-forward' ? 'store-and-forward' : 'cut-through';
  const seederText = seeder === null ? '' : `seeder capacity ${seeder}, `;
  return ` · relay: ${seederText}relay capacity ${p.relayCapacity ?? Math.min(p.peerCapacity, 1)}, ${forward}`;
}

function rateText(bps: number): string {
  const bits = bps * 8;
  if (bits < 1e9) return `${Number((bits / 1e6).toFixed(1))} Mbit/s`;
  return `${(bits / 1e9).toFixed(bits >= 1e10 ? 0 : 2).replace(/\.?0+$/, '')} Gbit/s`;
}

export function describeModel(m: SimModel): string {
  if (m.kind === 'fixed') return `fixed model: every transfer takes ${formatSpan(m.transferMs)}`;
  const seeder = m.seederLinkBps !== undefined ? `, seeder link ${rateText(m.seederLinkBps)}` : '';
  const disk = m.diskBps !== undefined ? `, disk ${(m.diskBps / 1e6).toFixed(0)} MB/s` : '';
  const hosts = (m.hosts ?? []).map((h) => {
    const down = h.downBps ?? m.linkBps;
    const up = h.upBps ?? m.linkBps;
    const who = h.index === 0 ? 'seeder' : `peer ${h.index}`;
    return `, ${who} at ${down === up ? rateText(down) : `${rateText(down)} down / ${rateText(up)} up`}`;
  });
  const ideal = m.frameOverhead === 1 && (m.ackOverhead ?? 1) === 0;
  const start = formatSpan(m.startMs ?? SEEDER_START_MS);
  const queue = m.queue === 'fifo' ? ', FIFO link queues' : '';
  const tcp = `${ideal ? 'payload-only links' : 'TCP framing and ACKs'}${queue}, seeder start ${start}`;
  const wire = m.wireBytes === undefined ? '' : ` (${formatGiB(m.wireBytes)} on the wire)`;
  return `fluid model: ${formatGiB(m.imageBytes)} image${wire}, links ${rateText(m.linkBps)}${seeder}${disk}${hosts.join('')}, ${tcp}`;
}

function formatGiB(bytes: number): string {
  const gib = bytes / 2 ** 30;
  return gib >= 1 ? `${Number(gib.toFixed(2))} GiB` : `${Number((bytes / 2 ** 20).toFixed(1))} MiB`;
}

/** `time | imaged` (one run, with a percentage) or `time | classic | relay`. */
export function formatTable(runs: readonly SimulationResult[], everyMs: number): string[] {
  const unit = timeUnit(everyMs);
  const rows = progressionRows(runs, everyMs);
  const total = runs[0]?.peers ?? 0;
  const head = ['time', ...(runs.length === 1 ? ['imaged', ''] : runs.map((r) => r.mode))];
  const body = rows.map((row) => {
    const pct = total > 0 ? `${((100 * (row.imaged[0] ?? 0)) / total).toFixed(1)}%` : '';
    return [formatInUnit(row.atMs, unit), ...row.imaged.map(String), ...(runs.length === 1 ? [pct] : [])];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const fmt = (cells: string[]): string =>
    `  ${cells.map((c, i) => c.padStart(widths[i] as number)).join('   ')}`.trimEnd();
  return [fmt(head), ...body.map(fmt)];
}

/** Makespan against the lower bound, and what failures cost. */
export function formatSummary(run: SimulationResult, fluid = false): string[] {
  const moved = run.moves > 0 ? ` (${run.moves} moved to a faster server)` : '';
  const figures = `${run.imaged} imaged · ${run.assignments} transfers${moved}`;
  const makespan = `makespan ${formatSpan(run.makespanMs)} = ${run.ratio.toFixed(2)} × S/B (${formatSpan(run.lowerBoundMs)})`;
  const skipped = fluid && !run.rerouting && run.peers > REROUTE_MAX_PEERS;
  const noReroute = skipped ? ` · re-routing not simulated (over ${REROUTE_MAX_PEERS.toLocaleString('en')} peers)` : '';
  const lines = run.complete
    ? [`${run.mode}: ${makespan} · ${figures}${noReroute}`]
    : [`${run.mode}: DID NOT FINISH · events ran out at ${formatSpan(run.lastEventMs)} · ${figures}`];
  if (run.stuck) {
    const { waiting, transferring, serversWithFreeSlots: free } = run.stuck;
    lines.push(
      `  stuck: ${run.survivors - run.survivorsImaged} surviving peers never imaged; nothing left to happen with`,
      `         ${count(waiting, 'client')} waiting, ${count(transferring, 'transfer')} stalled, ` +
        `${count(free, 'server')} with free slots`,
    );
  }
  if (run.withoutFailures) lines.push(...formatFailureCost(run, run.withoutFailures.makespanMs));
  lines.push(...formatHosts(run));
  return lines;
}

/** Peers with their own links against their own S/B, and the others against the session's. */
function formatHosts(run: SimulationResult): string[] {
  if (!run.hosts) return [];
  const lines = run.hosts.map((h) =>
    h.doneMs === null
      ? `  peer ${h.index} (own link): not imaged`
      : `  peer ${h.index} (own link): imaged at ${formatSpan(h.doneMs)} = ${(h.ratio ?? NaN).toFixed(2)} × its S/B (${formatSpan(h.lowerBoundMs)})`,
  );
  const others = run.othersMakespanMs ?? 0;
  const n = run.peers - run.hosts.length;
  if (n > 0) lines.push(`  the other ${n}: ${formatSpan(others)} = ${(others / run.lowerBoundMs).toFixed(2)} × S/B`);
  return lines;
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function formatFailureCost(run: SimulationResult, baseMs: number): string[] {
  const lost = `  failures: ${run.failed} of ${run.peers} peers lost; ${count(run.retries, 'transfer')} rejoined the queue at its head`;
  const survivors = `${run.survivorsImaged} of ${run.survivors} surviving peers imaged`;
  if (!run.complete) return [lost, `            ${survivors}`];
  const cost = baseMs > 0 ? (run.makespanMs / baseMs - 1) * 100 : 0;
  const versus = `makespan ${formatSpan(run.makespanMs)} vs ${formatSpan(baseMs)} without failures`;
  return [lost, `            ${survivors}; ${versus} (${cost >= 0 ? '+' : ''}${cost.toFixed(1)}%)`];
}

/** `mode,seconds,imaged`: one row at 0 and one at every moment the count changed. */
export function toCsv(runs: readonly SimulationResult[]): string {
  const lines = ['mode,seconds,imaged'];
  for (const run of runs) {
    lines.push(`${run.mode},0,0`);
    for (const p of run.progression) lines.push(`${run.mode},${Number((p.atMs / 1000).toFixed(3))},${p.imaged}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Everything, as plain data: parameters, then per run its figures, table and full progression. */
export function toJson(runs: readonly SimulationResult[], opts: ReportOptions): Record<string, unknown> {
  const everyMs = reportStep(runs, opts.everyMs);
  const table = progressionRows(runs, everyMs);
  return {
    parameters: { ...opts.params, everyMs },
    runs: runs.map((run, i) => ({
      ...run,
      table: table.map((row) => ({ atMs: row.atMs, imaged: row.imaged[i] ?? 0 })),
    })),
  };
}
