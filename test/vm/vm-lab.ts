/**
 * A lab of QEMU guests for the boot-media test: a network namespace of the test's own with a
 * bridge and tap devices, processes started inside it, and guests whose serial console is read
 * line by line. Every address lives inside that namespace; nothing is sent anywhere else.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Terminal escapes (colours, cursor moves) that the guests' consoles carry. */
const ESCAPES = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');

/** Why the VM test cannot run here, or null when it can. */
export function vmSkipReason(): string | null {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (network namespace, tap devices)';
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun';
  if (spawnSync('sh', ['-c', 'command -v qemu-system-x86_64']).status !== 0)
    return 'needs qemu-system-x86_64 (scripts/boot-media/install-deps.sh vm installs it)';
  if (spawnSync('ip', ['netns', 'list']).status !== 0) return 'needs ip netns (iproute2)';
  if (!existsSync('/usr/share/ovmf/OVMF.fd')) return 'needs UEFI firmware for QEMU (ovmf)';
  return null;
}

export function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  return r.stdout;
}

/** A process in the namespace whose output is kept (and copied to a log file). */
export class Proc {
  readonly child: ChildProcess;
  readonly startedAt = Date.now();
  lines: { at: number; text: string }[] = [];
  exited: Promise<number | null>;
  private log: WriteStream;
  private buf = '';

  constructor(
    readonly name: string,
    ns: string,
    cmd: string[],
    logFile: string,
  ) {
    this.log = createWriteStream(logFile);
    this.child = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['pipe', 'pipe', 'pipe'] });
    const onData = (d: Buffer) => this.onData(d);
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.child.on('error', (err) => this.onData(Buffer.from(`spawn error: ${err.message}\n`)));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  private onData(d: Buffer): void {
    this.log.write(d);
    // Serial consoles end lines with CR LF and carry terminal escapes: keep plain text.
    this.buf += d.toString('latin1').replace(ESCAPES, '');
    const parts = this.buf.split(/\r?\n|\r/);
    this.buf = parts.pop() ?? '';
    for (const text of parts) if (text.trim()) this.lines.push({ at: Date.now(), text });
    if (this.lines.length > 20_000) this.lines.splice(0, 10_000);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The first line matching `re` (also one already seen), or an error after `ms`. */
  async waitFor(re: RegExp, ms: number): Promise<{ at: number; text: string }> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const hit =
        this.lines.find((l) => re.test(l.text)) ?? (re.test(this.buf) ? { at: Date.now(), text: this.buf } : undefined);
      if (hit) return hit;
      await sleep(250);
    }
    throw new Error(`${this.name}: no line matching ${re} within ${ms / 1000} s; last lines:\n${this.tail()}`);
  }

  /** Waits (bounded) for the process to exit on its own; returns its code, or throws. */
  async waitExit(ms: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.name}: still running after ${ms / 1000} s:\n${this.tail()}`)),
        ms,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  tail(n = 25): string {
    return [...this.lines.slice(-n).map((l) => l.text), this.buf].join('\n');
  }

  async stop(): Promise<void> {
    if (this.running) {
      this.child.kill('SIGTERM');
      await Promise.race([this.exited, sleep(3000)]);
      if (this.running) this.child.kill('SIGKILL');
      await Promise.race([this.exited, sleep(3000)]);
    }
    this.log.end();
  }
}

/** A namespace with a bridge (the lab switch) at `hostIp`/24 and `taps` tap ports on it. */
export class LabNet {
  readonly ns = `cascade-vm-${process.pid}`;
  readonly procs: Proc[] = [];

  constructor(
    readonly hostIp: string,
    readonly taps: number,
  ) {}

  up(): void {
    run('ip', ['netns', 'add', this.ns]);
    const n = ['-n', this.ns];
    run('ip', [...n, 'link', 'set', 'lo', 'up']);
    run('ip', [...n, 'link', 'add', 'br0', 'type', 'bridge']);
    run('ip', [...n, 'addr', 'add', `${this.hostIp}/24`, 'dev', 'br0']);
    run('ip', [...n, 'link', 'set', 'br0', 'up']);
    for (let i = 1; i <= this.taps; i++) {
      run('ip', [...n, 'tuntap', 'add', `tap${i}`, 'mode', 'tap']);
      run('ip', [...n, 'link', 'set', `tap${i}`, 'master', 'br0', 'up']);
    }
  }

  start(name: string, cmd: string[], logFile: string): Proc {
    const p = new Proc(name, this.ns, cmd, logFile);
    this.procs.push(p);
    return p;
  }

  async down(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop()));
    spawnSync('ip', ['netns', 'del', this.ns], { timeout: 30_000 });
  }
}

/** Guest hardware: a serial console on stdout, no display, no reboot (QEMU exits instead). */
export function qemuArgs(mac: string | null, nicModel: string, tap: number | null): string[] {
  const base = ['qemu-system-x86_64', '-m', '768', '-smp', '1', '-display', 'none', '-serial', 'stdio'];
  base.push('-monitor', 'none', '-no-reboot');
  if (mac === null || tap === null) return [...base, '-nic', 'none'];
  return [
    ...base,
    '-netdev',
    `tap,id=n0,ifname=tap${tap},script=no,downscript=no`,
    '-device',
    `${nicModel},netdev=n0,mac=${mac}`,
  ];
}
