/**
 * A min-heap of timed events. Events due at the same time come out in the order they were
 * pushed, so a simulation is deterministic. push and pop are O(log n).
 */
export class EventQueue<T> {
  private times: number[] = [];
  private seqs: number[] = [];
  private items: T[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.items.length;
  }

  push(time: number, item: T): void {
    if (Number.isNaN(time)) throw new RangeError('event time is NaN');
    this.times.push(time);
    this.seqs.push(this.nextSeq++);
    this.items.push(item);
    this.up(this.items.length - 1);
  }

  /** Time of the earliest event, or undefined when empty. */
  peekTime(): number | undefined {
    return this.times[0];
  }

  /** Remove and return the earliest event. */
  pop(): { time: number; item: T } | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    const time = this.times[0] as number;
    const item = this.items[0] as T;
    const last = n - 1;
    if (last > 0) this.move(last, 0);
    this.times.pop();
    this.seqs.pop();
    this.items.pop();
    if (last > 1) this.down(0);
    return { time, item };
  }

  private less(a: number, b: number): boolean {
    const ta = this.times[a] as number;
    const tb = this.times[b] as number;
    return ta < tb || (ta === tb && (this.seqs[a] as number) < (this.seqs[b] as number));
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < n && this.less(l, best)) best = l;
      if (r < n && this.less(r, best)) best = r;
      if (best === i) return;
      this.swap(i, best);
      i = best;
    }
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from] as number;
    this.seqs[to] = this.seqs[from] as number;
    this.items[to] = this.items[from] as T;
  }

  private swap(a: number, b: number): void {
    const t = this.times[a] as number;
    const s = this.seqs[a] as number;
    const it = this.items[a] as T;
    this.move(b, a);
    this.times[b] = t;
    this.seqs[b] = s;
    this.items[b] = it;
  }
}
