import { imagedAt } from './progression.js';
import type { ProgressPoint } from './simulate.js';

export interface ChartSeries {
  label: string;
  points: readonly ProgressPoint[];
}

export interface ChartOptions {
  /** Top of the y axis (e.g. the number of peers). */
  maxY: number;
  /** Right end of the x axis, in ms. */
  endMs: number;
  width?: number;
  height?: number;
  /** Label for a time on the x axis. */
  formatX?: (ms: number) => string;
}

/** Light lines for the first series, heavy for the second, so two runs read apart without colour. */
const STROKES = [
  { flat: '─', up: '│', upTop: '╭', upBottom: '╯' },
  { flat: '━', up: '┃', upTop: '┏', upBottom: '┛' },
] as const;

/**
 * A terminal line chart of machines imaged over time (step functions), asciichart-style: a y axis
 * of counts, one line per series, a legend and x-axis labels under it. Pure: returns the lines.
 */
export function renderChart(series: readonly ChartSeries[], opts: ChartOptions): string[] {
  const width = Math.max(10, opts.width ?? 60);
  const height = Math.max(3, opts.height ?? 12);
  const grid = Array.from({ length: height }, () => new Array<string>(width).fill(' '));
  // Drawn last to first, so where lines overlap the first series shows.
  for (let i = series.length - 1; i >= 0; i--) {
    drawSeries(grid, series[i] as ChartSeries, STROKES[i % STROKES.length] as (typeof STROKES)[number], opts);
  }
  const labels = Array.from({ length: height }, (_, row) =>
    String(Math.round((opts.maxY * (height - 1 - row)) / (height - 1))),
  );
  const pad = Math.max(...labels.map((l) => l.length));
  const lines = grid.map((cells, row) =>
    `${(labels[row] as string).padStart(pad)} ${row === height - 1 ? '┼' : '┤'}${cells.join('')}`.trimEnd(),
  );
  lines.push(xAxis(pad + 2, width, opts));
  if (series.length > 1) {
    const legend = series.map(
      (s, i) => `${(STROKES[i % STROKES.length] as (typeof STROKES)[number]).flat.repeat(3)} ${s.label}`,
    );
    lines.push(`${' '.repeat(pad + 2)}${legend.join('   ')}`);
  }
  return lines;
}

function drawSeries(grid: string[][], s: ChartSeries, stroke: (typeof STROKES)[number], opts: ChartOptions): void {
  const height = grid.length;
  const width = (grid[0] as string[]).length;
  const level = (col: number): number => {
    const t = (opts.endMs * col) / (width - 1);
    const v = opts.maxY > 0 ? imagedAt(s.points, t) / opts.maxY : 0;
    return Math.round(Math.min(1, v) * (height - 1));
  };
  const set = (lvl: number, col: number, ch: string): void => {
    (grid[height - 1 - lvl] as string[])[col] = ch;
  };
  let prev = level(0);
  set(prev, 0, stroke.flat);
  for (let col = 1; col < width; col++) {
    const cur = level(col);
    if (cur === prev) set(cur, col, stroke.flat);
    else {
      set(prev, col, stroke.upBottom);
      for (let l = prev + 1; l < cur; l++) set(l, col, stroke.up);
      set(cur, col, stroke.upTop);
    }
    prev = cur;
  }
}

function xAxis(indent: number, width: number, opts: ChartOptions): string {
  const fmt = opts.formatX ?? ((ms: number) => `${Math.round(ms / 1000)}s`);
  const left = fmt(0);
  const mid = fmt(opts.endMs / 2);
  const right = fmt(opts.endMs);
  const cells = new Array<string>(width).fill(' ');
  const put = (text: string, at: number): void => {
    const start = Math.max(0, Math.min(width - text.length, at));
    for (let i = 0; i < text.length; i++) cells[start + i] = text[i] as string;
  };
  put(left, 0);
  put(mid, Math.round((width - 1) / 2 - mid.length / 2));
  put(right, width - right.length);
  return `${' '.repeat(indent)}${cells.join('').trimEnd()}`;
}
