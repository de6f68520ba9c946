import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Run a system command; resolve with stdout, reject with its stderr in the message. */
export async function sh(cmd: string, args: string[]): Promise<string> {
  try {
    return (await run(cmd, args, { timeout: 30_000 })).stdout.trim();
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

/** Like sh, but never fails (for cleanup). */
export const shQuiet = (cmd: string, args: string[]): Promise<string> => sh(cmd, args).catch(() => '');

export const isRoot = (): boolean => process.getuid?.() === 0;

/** A process started from any command line, its stdout and stderr in `workdir/name.log`. */
export interface Proc {
  name: string;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number>;
  /** Resolves with the first stdout line matching `re` (rejects if the process exits first or after `ms`). */
  line(re: RegExp, ms?: number): Promise<RegExpExecArray>;
  stop(ms?: number): Promise<number>;
}

export function startProc(name: string, argv: string[], workdir: string, cwd?: string): Proc {
  const logFile = join(workdir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
    ...(cwd ? { cwd } : {}),
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let buf = '';
  child.stderr?.pipe(log, { end: false });
  child.stdout?.on('data', (d: Buffer) => {
    log.write(d);
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
    for (const w of waiters) w();
  });
  const exited = new Promise<number>((resolve) =>
    child.on('exit', (code, signal) => {
      setTimeout(() => log.end(), 50);
      resolve(code ?? (signal ? 137 : 1));
    }),
  );
  const line = (re: RegExp, ms = 30_000): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        for (const l of lines) {
          const m = re.exec(l);
          if (m) return finish(() => resolve(m));
        }
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${name}: no line ${re} in ${ms} ms`))), ms);
      const finish = (f: () => void): void => {
        clearTimeout(timer);
        waiters.delete(check);
        f();
      };
      waiters.add(check);
      void exited.then((code) => finish(() => reject(new Error(`${name} exited with ${code}; see ${logFile}`))));
      check();
    });
  const stop = async (ms = 5000): Promise<number> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return { name, child, logFile, exited, line, stop };
}

/** Wait for exit, killing the process after `ms`. */
export async function exitOf(p: Proc, ms: number): Promise<number> {
  const timer = setTimeout(() => p.child.kill('SIGKILL'), ms);
  try {
    return await p.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** True when the first `length` bytes of `path` (a file or a device) equal `expected`. */
export async function sameBytes(path: string, expected: Buffer): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const got = Buffer.alloc(expected.length);
    const { bytesRead } = await fh.read(got, 0, got.length, 0);
    return bytesRead === expected.length && got.equals(expected);
  } finally {
    await fh.close();
  }
}
