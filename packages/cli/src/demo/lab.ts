import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The `cascade` entry point next to this file (dist/bin.js), or the one-file bundle itself. */
export const CASCADE_BIN = process.env.CASCADE_BUNDLED
  ? process.argv[1]!
  : fileURLToPath(new URL('../bin.js', import.meta.url));

/** Loopback address for the i-th peer (1-based): 127.0.2.1, 127.0.2.2, … 127.0.3.1 … */
export function peerAddress(i: number): string {
  return `127.0.${2 + Math.floor((i - 1) / 250)}.${((i - 1) % 250) + 1}`;
}

export interface RoleProcess {
  name: string;
  proc: ChildProcess;
  logFile: string;
  exited: Promise<number>;
}

/**
 * Start any program with its stderr and stdout in `workdir/name.log` (appended), each stdout
 * line also passed to `onStdout`. `exited` resolves with the exit code (128+9 when killed).
 */
export function spawnLogged(
  name: string,
  argv: string[],
  workdir: string,
  onStdout?: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): RoleProcess {
  const logFile = join(workdir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const [cmd, ...rest] = argv as [string, ...string[]];
  const proc = spawn(cmd, rest, { stdio: ['ignore', 'pipe', 'pipe'], env });
  proc.stderr?.pipe(log, { end: false });
  let buf = '';
  proc.stdout?.on('data', (d: Buffer) => {
    log.write(d);
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      onStdout?.(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  const exited = new Promise<number>((resolve) =>
    proc.on('exit', (code, signal) => {
      setTimeout(() => log.end(), 50);
      resolve(code ?? (signal ? 128 + 9 : 1));
    }),
  );
  return { name, proc, logFile, exited };
}

/**
 * Start one `cascade` role as its own process, its stderr (logs) and stdout in a log file.
 * `launcher` prefixes the command line, e.g. `['ip', 'netns', 'exec', 'ns1']` (it must exec node).
 */
export function spawnRole(
  name: string,
  args: string[],
  workdir: string,
  onStdout?: (line: string) => void,
  launcher: string[] = [],
): RoleProcess {
  const argv = [...launcher, process.execPath, CASCADE_BIN, ...args, '--log-format', 'json'];
  return spawnLogged(name, argv, workdir, onStdout, { ...process.env, FORCE_COLOR: '0' });
}

/** Start a coordinator on `host` (any free port) and resolve with its URL once it listens. */
export async function startCoordinator(
  workdir: string,
  host: string,
  port = 0,
  name = 'coordinator',
  extraArgs: string[] = [],
  launcher: string[] = [],
): Promise<RoleProcess & { url: string }> {
  let found: (url: string) => void = () => undefined;
  const urlP = new Promise<string>((resolve) => (found = resolve));
  const role = spawnRole(
    name,
    ['coordinator', '--listen', `${host}:${port}`, ...extraArgs],
    workdir,
    (line) => {
      const m = /listening on (wss?:\/\/\S+)/.exec(line);
      if (m?.[1]) found(m[1]);
    },
    launcher,
  );
  const url = await Promise.race([
    urlP,
    role.exited.then((code) => Promise.reject(new Error(`coordinator exited with ${code}; see ${role.logFile}`))),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('coordinator did not start in 15 s')), 15_000).unref(),
    ),
  ]);
  return { ...role, url };
}

/** Wait for a process to exit, killing it after `ms`. */
export async function exitWithin(p: RoleProcess, ms: number): Promise<number> {
  const timer = setTimeout(() => p.proc.kill('SIGKILL'), ms);
  try {
    return await p.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Read a peer's --report JSON (null when it wrote none). */
export async function readReport<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return null;
  }
}
