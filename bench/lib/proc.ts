import { readFileSync } from 'node:fs';

/** Whole-machine CPU use between start() and stop(), from /proc/stat (busy share of all cores). */
export class CpuSampler {
  private first: { busy: number; total: number } | null = null;
  private peak = 0;
  private last: { busy: number; total: number } | null = null;
  private timer: NodeJS.Timeout | null = null;

  start(intervalMs = 1000): void {
    this.first = readStat();
    this.last = this.first;
    this.timer = setInterval(() => {
      const now = readStat();
      if (now && this.last) this.peak = Math.max(this.peak, share(this.last, now));
      this.last = now;
    }, intervalMs);
    this.timer.unref();
  }

  /** Average and peak (over 1 s samples) busy share, 0..1 of every core together. */
  stop(): { avg: number; peak: number } {
    if (this.timer) clearInterval(this.timer);
    const end = readStat();
    const avg = this.first && end ? share(this.first, end) : NaN;
    return { avg, peak: Math.max(this.peak, avg) };
  }
}

function readStat(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

function share(a: { busy: number; total: number }, b: { busy: number; total: number }): number {
  const dt = b.total - a.total;
  return dt > 0 ? (b.busy - a.busy) / dt : 0;
}

/** VmRSS and VmHWM of a process in bytes (null once it has exited). */
export function memoryOf(pid: number): { rss: number; hwm: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** Sample a process's memory every `intervalMs`; `stop()` gives the peak RSS seen and the last VmHWM. */
export function sampleMemory(pid: number, intervalMs = 100): { stop: () => { peakRss: number; hwm: number } } {
  let peakRss = 0;
  let hwm = 0;
  const take = (): void => {
    const m = memoryOf(pid);
    if (!m) return;
    peakRss = Math.max(peakRss, m.rss);
    hwm = Math.max(hwm, m.hwm);
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop: () => {
      take();
      clearInterval(timer);
      return { peakRss, hwm };
    },
  };
}

export function percent(x: number): string {
  return `${(x * 100).toFixed(0)} %`;
}
