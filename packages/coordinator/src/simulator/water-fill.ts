/**
 * Max-min fair sharing of one capacity among flows that each have their own cap: flows capped
 * below an equal share keep their cap, and what they leave is split among the others.
 * This is how one server's uplink is shared by its clients (each capped by its downlink, its disk,
 * and in relay mode by its parent's progress). `capacity` may be Infinity (no shared limit).
 */
export function waterFill(capacity: number, caps: readonly number[]): number[] {
  const n = caps.length;
  const out = new Array<number>(n);
  if (n === 1) {
    out[0] = Math.min(capacity, caps[0] as number);
    return out;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (caps[a] as number) - (caps[b] as number));
  let remaining = capacity;
  let left = n;
  for (const i of order) {
    const rate = Math.max(0, Math.min(caps[i] as number, remaining / left));
    out[i] = rate;
    remaining -= rate;
    left--;
  }
  return out;
}
