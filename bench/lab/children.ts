import type { ChildProcess } from 'node:child_process';
import { spawnLogged } from '@cascade/cli';

export interface Child {
  name: string;
  proc: ChildProcess;
  /** Resolves with the exit code (128+signal when killed). */
  exited: Promise<number>;
  /** Epoch ms when it exited (after `exited` resolves). */
  exitedAt: number;
  /** Called with each stdout line. */
  listeners: Array<(line: string) => void>;
}

/** Start a helper program (curl, aria2c, a bench script) with its output in `workdir/name.log`. */
export function startChild(name: string, argv: string[], workdir: string): Child {
  const listeners: Array<(line: string) => void> = [];
  const p = spawnLogged(name, argv, workdir, (line) => {
    for (const fn of listeners) fn(line);
  });
  const child: Child = { name, proc: p.proc, exited: p.exited, exitedAt: 0, listeners };
  child.exited = p.exited.then((code) => {
    child.exitedAt = Date.now();
    return code;
  });
  return child;
}

/** SIGTERM every child still running, SIGKILL after 5 s, and wait for all. */
export async function stopAll(children: Child[]): Promise<void> {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGTERM');
  await Promise.all(
    children.map(async (c) => {
      const t = setTimeout(() => c.proc.kill('SIGKILL'), 5000);
      await c.exited;
      clearTimeout(t);
    }),
  );
}

/** Wait for a line matching `re` from a child (or its exit, or the timeout). */
export function waitForLine(child: Child, re: RegExp, ms: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    child.listeners.push((line) => {
      const m = re.exec(line);
      if (m) resolve(m);
    });
    void child.exited.then((code) => reject(new Error(`${child.name} exited with ${code} before printing ${re}`)));
    setTimeout(() => reject(new Error(`${child.name} printed no ${re} within ${ms} ms`)), ms).unref();
  });
}
