/**
 * A FIFO queue of unique keys with O(1) push at either end, pop from the head, membership
 * test and removal (removal is lazy: a removed key's slot is skipped when it reaches the head).
 */
export class KeyedQueue<K> {
  private buf: Array<{ key: K; token: number } | undefined>;
  private head = 0;
  private tail = 0; // one past the last
  private readonly live = new Map<K, number>();
  private nextToken = 1;

  constructor(initialCapacity = 16) {
    this.buf = new Array<{ key: K; token: number } | undefined>(Math.max(4, initialCapacity));
  }

  get size(): number {
    return this.live.size;
  }

  has(key: K): boolean {
    return this.live.has(key);
  }

  pushBack(key: K): void {
    if (this.live.has(key)) return;
    this.ensureRoom();
    const token = this.nextToken++;
    this.buf[this.tail % this.buf.length] = { key, token };
    this.tail++;
    this.live.set(key, token);
  }

  pushFront(key: K): void {
    if (this.live.has(key)) return;
    this.ensureRoom();
    const token = this.nextToken++;
    this.head--;
    this.buf[((this.head % this.buf.length) + this.buf.length) % this.buf.length] = { key, token };
    this.live.set(key, token);
  }

  /** Reorder the live keys (stable: equal keys keep their order). O(n log n). */
  sortStable(compare: (a: K, b: K) => number): void {
    const keys = [...this].sort(compare); // Array.prototype.sort is stable
    this.buf = new Array<{ key: K; token: number } | undefined>(Math.max(16, keys.length * 2));
    this.live.clear();
    this.head = 0;
    this.tail = 0;
    for (const k of keys) this.pushBack(k);
  }

  /** First live key, without removing it. */
  peek(): K | undefined {
    this.skipDead();
    return this.head < this.tail ? this.at(this.head)?.key : undefined;
  }

  shift(): K | undefined {
    this.skipDead();
    if (this.head >= this.tail) return undefined;
    const e = this.at(this.head) as { key: K; token: number };
    this.clear(this.head);
    this.head++;
    this.live.delete(e.key);
    return e.key;
  }

  remove(key: K): boolean {
    return this.live.delete(key);
  }

  /** Live keys in order (O(n)). */
  *[Symbol.iterator](): IterableIterator<K> {
    this.skipDead(); // so a scan starts at a live key, not at every key removed since compaction
    for (let i = this.head; i < this.tail; i++) {
      const e = this.at(i);
      if (e && this.live.get(e.key) === e.token) yield e.key;
    }
  }

  toArray(limit = Infinity): K[] {
    const out: K[] = [];
    for (const k of this) {
      if (out.length >= limit) break;
      out.push(k);
    }
    return out;
  }

  private at(i: number): { key: K; token: number } | undefined {
    const n = this.buf.length;
    return this.buf[((i % n) + n) % n];
  }

  private clear(i: number): void {
    const n = this.buf.length;
    this.buf[((i % n) + n) % n] = undefined;
  }

  private skipDead(): void {
    while (this.head < this.tail) {
      const e = this.at(this.head);
      if (e && this.live.get(e.key) === e.token) return;
      this.clear(this.head);
      this.head++;
    }
  }

  private ensureRoom(): void {
    if (this.tail - this.head < this.buf.length) return;
    this.skipDead();
    // Compact live entries into a larger buffer, dropping dead slots.
    const items: Array<{ key: K; token: number }> = [];
    for (let i = this.head; i < this.tail; i++) {
      const e = this.at(i);
      if (e && this.live.get(e.key) === e.token) items.push(e);
    }
    const cap = Math.max(16, items.length * 2);
    this.buf = new Array<{ key: K; token: number } | undefined>(cap);
    items.forEach((e, i) => (this.buf[i] = e));
    this.head = 0;
    this.tail = items.length;
  }
}
