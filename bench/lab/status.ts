import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { SessionStatus, StatusSnapshot } from '@cascade/coordinator';
import type { LabHost } from './netns.js';

const run = promisify(execFile);

export type StatusReader = () => Promise<SessionStatus | null>;

/**
 * Read the coordinator's `GET /status` for one session from inside host 0's namespace (the lab's
 * addresses exist only there), with curl; null when it cannot be read.
 */
export function statusReader(h0: LabHost, wsUrl: string, session: string): StatusReader {
  const url = `${wsUrl.replace(/^ws/, 'http')}/status?session=${encodeURIComponent(session)}`;
  const argv = [...h0.exec, 'curl', '-sS', '--fail', '--max-time', '2', url];
  return async () => {
    try {
      const { stdout } = await run(argv[0]!, argv.slice(1), { maxBuffer: 16 * 2 ** 20 });
      const snap = JSON.parse(stdout) as StatusSnapshot;
      return snap.sessions.find((s) => s.name === session) ?? null;
    } catch (err) {
      if (process.env.BENCH_DEBUG) process.stderr.write(`[bench] status: ${(err as Error).message}\n`);
      return null;
    }
  };
}

/** Poll until `ok(status)` holds; rejects after `ms` naming `what` and the last status seen. */
export async function waitForStatus(
  read: StatusReader,
  ok: (s: SessionStatus) => boolean,
  ms: number,
  what: string,
  everyMs = 250,
): Promise<SessionStatus> {
  const deadline = Date.now() + ms;
  let last: SessionStatus | null = null;
  while (Date.now() < deadline) {
    last = await read();
    if (last && ok(last)) return last;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  const seen = last ? `state ${last.state}, ${last.waiting.length} waiting` : 'no status';
  throw new Error(`coordinator: not ${what} within ${ms} ms (${seen})`);
}

/** Bytes each peer holds according to the status: transfers' bytes, the whole image once imaged. */
export function progressOf(s: SessionStatus, size: number): Map<string, number> {
  const held = new Map<string, number>();
  for (const r of s.roster) held.set(r.name, r.outcome === 'imaged' ? size : 0);
  for (const t of s.transfers) held.set(t.clientName, Math.max(held.get(t.clientName) ?? 0, t.bytes));
  return held;
}
