import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LabHost } from './netns.js';

const run = promisify(execFile);

/** Bytes received on a lab host's eth0 so far (frames' bytes: headers, retransmissions included). */
export async function rxBytes(h: LabHost): Promise<number> {
  const { stdout } = await run('ip', ['-n', h.ns, '-j', '-s', 'link', 'show', 'dev', 'eth0']);
  const [link] = JSON.parse(stdout) as Array<{ stats64?: { rx?: { bytes?: number } } }>;
  const bytes = link?.stats64?.rx?.bytes;
  if (typeof bytes !== 'number') throw new Error(`no rx counter for eth0 in ${h.ns}`);
  return bytes;
}

/**
 * Measure what each receiver's link carried while `fn` runs: the mean of eth0's received bytes
 * over `receivers` (null when a counter cannot be read, e.g. without namespaces).
 */
export async function meanRx<T>(receivers: LabHost[], fn: () => Promise<T>): Promise<{ result: T; rx: number | null }> {
  const read = (): Promise<number[] | null> => Promise.all(receivers.map(rxBytes)).catch(() => null);
  const before = await read();
  const result = await fn();
  const after = await read();
  if (!before || !after || receivers.length === 0) return { result, rx: null };
  const sum = after.reduce((a, b, i) => a + (b - before[i]!), 0);
  return { result, rx: sum / receivers.length };
}
