import { spawnSync } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { firstDifference } from '@cascade/cli';
import { startChild, stopAll, type Child } from './children.js';
import { makespanOf, type LabRun } from './cascade-lab.js';
import type { LabHost } from './netns.js';

export const PORTBASE = '9000';

/** Why the multicast row cannot run here, or null when it can. */
export function udpcastMissing(shaped: boolean): string | null {
  if (!shaped) return 'udpcast: skipped (multicast needs the namespace lab; run as root)';
  for (const tool of ['udp-sender', 'udp-receiver']) {
    const r = spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    if (r.status !== 0) return `udpcast: skipped — ${tool} is not on PATH (scripts/bench-tools.sh installs it)`;
  }
  return null;
}

/**
 * udpcast multicast: udp-receiver on every host (but 0), each seen started, then udp-sender on
 * host 0 waits for all of them (`--min-receivers`) and multicasts the image at `bitrate`
 * (udpcast's `--max-bitrate`, e.g. `95m`); NAKs bring lost packets again. Multicast stays in the
 * lab: every namespace routes 224.0.0.0/4 to its eth0 and the bridge floods it. The makespan runs
 * from the sender's launch to the last receiver's exit; every file is compared byte for byte.
 */
export async function runUdpcast(
  hosts: LabHost[],
  image: string,
  size: number,
  workdir: string,
  timeoutMs: number,
  bitrate: string,
): Promise<LabRun> {
  const [h0, ...receivers] = hosts as [LabHost, ...LabHost[]];
  const dir = join(workdir, `udpcast-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  const children: Child[] = [];
  const target = (h: LabHost): string => join(dir, `h${h.index}.img`);
  try {
    const recv = receivers.map((h) => {
      const argv = [...h.exec, 'udp-receiver', '--file', target(h), '--interface', 'eth0', '--portbase', PORTBASE];
      return startChild(`udp-receiver-h${h.index}`, [...argv, '--nokbd', '--no-progress'], dir);
    });
    children.push(...recv);
    await waitForLogs(recv, dir, /UDP receiver for/, 30_000);
    const t0 = Date.now();
    const send = [...h0.exec, 'udp-sender', '--file', image, '--interface', 'eth0', '--portbase', PORTBASE];
    send.push('--min-receivers', String(receivers.length), '--max-bitrate', bitrate, '--nokbd', '--no-progress');
    const sender = startChild('udp-sender', send, dir);
    children.push(sender);
    void sender.exited.then((code) => (code !== 0 ? stopAll(children) : undefined));
    const timer = setTimeout(() => void stopAll(children), timeoutMs);
    const exits = await Promise.all(recv.map((c) => c.exited)).finally(() => clearTimeout(timer));
    await Promise.race([sender.exited, new Promise((r) => setTimeout(r, 5000))]);
    const doneAt = new Map<number, number>();
    const problems: string[] = [];
    for (const [i, h] of receivers.entries()) {
      const diff = await firstDifference(image, target(h), size).catch(() => 0);
      if (exits[i] === 0 && diff === -1) doneAt.set(h.index, recv[i]!.exitedAt);
      else
        problems.push(`host ${h.index}: udp-receiver exit ${exits[i]}, ${diff === -1 ? 'same' : `differs at ${diff}`}`);
    }
    const expected = receivers.map((h) => h.index);
    const run = { t0, doneAt, expected };
    return { ...run, makespanMs: makespanOf(run, expected), ok: problems.length === 0, problems };
  } finally {
    await stopAll(children);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Wait (bounded) until every child's log holds a line matching `re`. */
export async function waitForLogs(children: Child[], dir: string, re: RegExp, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  const pending = new Set(children.map((c) => c.name));
  while (pending.size > 0 && Date.now() < deadline) {
    for (const name of [...pending]) {
      if (re.test(await readFile(join(dir, `${name}.log`), 'utf8').catch(() => ''))) pending.delete(name);
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 100));
  }
  if (pending.size > 0) throw new Error(`udpcast: ${[...pending].join(', ')} did not start within ${ms} ms`);
}
