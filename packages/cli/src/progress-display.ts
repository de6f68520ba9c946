import { writeSync } from 'node:fs';
import { Writable } from 'node:stream';
import { formatRate, type Logger } from '@cascade/common';
import type CliProgress from 'cli-progress';

export interface ProgressUpdate {
  /** What is being counted: `slices` received, or slices `hashed` while building a manifest. */
  phase: string;
  done: number;
  total: number;
  /** Bytes per second, when known. */
  rate?: number;
  /** Time left, when known. */
  etaMs?: number;
}

/**
 * A long-running role's progress: on a terminal a bar on stderr (slices, MB/s, ETA) with log
 * lines printed above it; elsewhere a `progress` pino event every few seconds instead.
 */
export class ProgressDisplay {
  /** On a terminal, with the bar library loaded (only there: ~10 ms of a role's startup). */
  static async open(tty = Boolean(process.stderr.isTTY)): Promise<ProgressDisplay> {
    return new ProgressDisplay(tty ? (await import('cli-progress')).default : null);
  }

  private readonly multibar: CliProgress.MultiBar | null;
  private bar: CliProgress.SingleBar | null = null;
  private phase = '';
  private lastEvent = 0;
  private logger: Logger | null = null;
  /** Human-readable log lines go here so they land above the bar instead of through it. */
  readonly logStream: Writable | undefined;

  /** `bars`: cli-progress for a bar on stderr, null for progress events. */
  constructor(
    bars: typeof CliProgress | null,
    private readonly eventEveryMs = 5000,
  ) {
    this.multibar = bars
      ? new bars.MultiBar(
          {
            stream: process.stderr,
            format: '{phase} [{bar}] {percentage}% | {value}/{total} | {speed} | ETA {eta_formatted}',
            hideCursor: true,
            etaBuffer: 30,
            fps: 4,
            barsize: 30,
          },
          bars.Presets.shades_classic,
        )
      : null;
    this.logStream = this.multibar
      ? new Writable({
          write: (chunk: Buffer, _enc, done) => {
            if (this.bar && this.multibar!.isActive) {
              this.multibar!.log(chunk.toString());
              this.multibar!.update();
            } else writeSync(2, chunk);
            done();
          },
        })
      : undefined;
  }

  /** The logger for progress events when there is no terminal. */
  attach(logger: Logger): void {
    this.logger = logger;
  }

  update(u: ProgressUpdate): void {
    const speed = u.rate !== undefined ? formatRate(u.rate) : '';
    if (this.multibar) {
      if (!this.bar || this.phase !== u.phase) {
        this.bar?.stop();
        this.bar = this.multibar.create(u.total, u.done, { phase: u.phase, speed });
        this.phase = u.phase;
      }
      this.bar.setTotal(u.total);
      this.bar.update(u.done, { phase: u.phase, speed });
      return;
    }
    const now = Date.now();
    if (now - this.lastEvent < this.eventEveryMs && u.done < u.total && this.phase === u.phase) return;
    this.lastEvent = now;
    this.phase = u.phase;
    this.logger?.info(
      {
        phase: u.phase,
        done: u.done,
        total: u.total,
        ...(u.rate !== undefined ? { rate: Math.round(u.rate) } : {}),
        ...(u.etaMs !== undefined ? { etaS: Math.round(u.etaMs / 1000) } : {}),
      },
      'progress',
    );
  }

  /** Remove the bar (the caller prints its one summary line next). */
  stop(): void {
    if (!this.multibar) return;
    this.multibar.update();
    this.multibar.stop();
    this.bar = null;
  }
}
