import { readFile, stat } from 'node:fs/promises';
import { after } from 'node:test';
import { exitWithin, type RoleProcess } from '@cascade/cli';
import type { StatusSnapshot } from '@cascade/coordinator';

/**
 * Shapes the issue-13 tests build against (not in `@cascade/coordinator` yet): every session of
 * `status --json` carries a roster of every machine that joined, and a summary.
 */
export type Outcome = 'waiting' | 'transferring' | 'imaged' | 'failed' | 'left' | 'lost';

export interface RosterEntry {
  /** Member id (unique key). */
  id: string;
  /** Unique within the session: the hostname when unique, otherwise made unique (address or MAC). */
  name: string;
  /** The address the coordinator saw this member connect from. */
  ip: string;
  /** The MAC of the interface that holds `ip` (null when the peer could not tell). */
  mac: string | null;
  outcome: Outcome;
  /** Stable error code for `failed` (ERR_TARGET_UNUSABLE, …), null otherwise. */
  code: string | null;
  reason: string | null;
  /** ms since epoch when imaged, null otherwise. */
  imagedAt: number | null;
  /** Name of the member it was imaged from. */
  source: string | null;
}

export interface LabSession {
  name: string;
  state: string;
  imaged: number;
  expected: number | null;
  roster?: RosterEntry[];
  summary?: { imaged: number; failed: number; waiting: number; expected: number | null };
  servers: Array<{ id: string; name: string; host: string | null; unreachable?: boolean }>;
  waiting?: Array<{ id: string; name: string }>;
}

export interface LabSnapshot {
  now: number;
  sessions: LabSession[];
  warnings: StatusSnapshot['warnings'];
}

/** GET /status of a coordinator reachable from this process (loopback tests). */
export async function httpStatus(wsUrl: string, session?: string): Promise<LabSnapshot> {
  const http = wsUrl.replace(/^ws/, 'http');
  const res = await fetch(`${http}/status${session ? `?session=${encodeURIComponent(session)}` : ''}`);
  return (await res.json()) as LabSnapshot;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `probe` until it returns a value (not undefined); bounded by `ms`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(200);
  }
  throw new Error(`${what}: not reached in ${ms} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Parsed JSON log lines of a role's log file (non-JSON lines skipped). */
export async function logLines(file: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const out: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a partial line at the end of a live log
    }
  }
  return out;
}

/** After the test file: SIGKILL every role `procs()` lists (those started) and wait for each to exit. */
export function killAfter(procs: () => Array<RoleProcess | undefined>): void {
  after(async () => {
    for (const r of procs()) {
      if (!r) continue;
      r.proc.kill('SIGKILL');
      await exitWithin(r, 5000);
    }
  });
}

/** Remember a started role in `roles` (for killAfter) and hand it back. */
export function keep(roles: RoleProcess[], r: RoleProcess): RoleProcess {
  roles.push(r);
  return r;
}
