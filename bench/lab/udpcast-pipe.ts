import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startChild, stopAll, type Child } from './children.js';
import { makespanOf, type LabRun } from './cascade-lab.js';
import type { LabHost } from './netns.js';
import { PORTBASE, waitForLogs } from './udpcast.js';

export interface UdpcastPipeOptions {
  hosts: LabHost[];
  /** The file host 0's udp-sender multicasts. */
  file: string;
  /** Folder for logs and targets. */
  dir: string;
  timeoutMs: number;
  /** udp-sender --max-bitrate (e.g. `95m`). */
  bitrate: string;
  /** The shell command each receiving host pipes udp-receiver's stdout into (e.g. `zstd -d | partclone…`). */
  consume: (h: LabHost) => string;
  /** After every receiver has exited (not timed): what is wrong with host h's result (empty: correct). */
  check: (h: LabHost) => Promise<string[]>;
}

/**
 * udpcast multicast into a pipeline on every host: `udp-receiver | CONSUME` (bash, pipefail) on
 * every host but 0, each seen started, then `udp-sender --file FILE` on host 0 waits for all of
 * them (`--min-receivers`) and multicasts at `bitrate`. The makespan runs from the sender's launch
 * to the last pipeline's exit (for the Clonezilla row: the last restore written). Then every
 * host's result is checked (`check`), one host after the other; a host whose pipeline finished
 * counts in the makespan even when its result is wrong (the row then fails with the reason).
 */
export async function runUdpcastPipe(o: UdpcastPipeOptions): Promise<LabRun> {
  const [h0, ...receivers] = o.hosts as [LabHost, ...LabHost[]];
  await mkdir(o.dir, { recursive: true });
  const children: Child[] = [];
  try {
    const recv = receivers.map((h) => {
      const udp = `udp-receiver --interface eth0 --portbase ${PORTBASE} --nokbd --no-progress`;
      const argv = [...h.exec, 'bash', '-o', 'pipefail', '-c', `${udp} | ${o.consume(h)}`];
      return startChild(`receiver-h${h.index}`, argv, o.dir);
    });
    children.push(...recv);
    await waitForLogs(recv, o.dir, /UDP receiver for/, 30_000);
    const t0 = Date.now();
    const send = [...h0.exec, 'udp-sender', '--file', o.file, '--interface', 'eth0', '--portbase', PORTBASE];
    send.push('--min-receivers', String(receivers.length), '--max-bitrate', o.bitrate, '--nokbd', '--no-progress');
    const sender = startChild('udp-sender', send, o.dir);
    children.push(sender);
    void sender.exited.then((code) => (code !== 0 ? stopAll(children) : undefined));
    const timer = setTimeout(() => void stopAll(children), o.timeoutMs);
    const exits = await Promise.all(recv.map((c) => c.exited)).finally(() => clearTimeout(timer));
    await Promise.race([sender.exited, new Promise((r) => setTimeout(r, 5000))]);
    const doneAt = new Map<number, number>();
    const problems: string[] = [];
    for (const [i, h] of receivers.entries()) {
      const wrong = exits[i] === 0 ? await o.check(h).catch((err: Error) => [err.message]) : [];
      // Finished is finished (the makespan); a wrong result fails the row on its own.
      if (exits[i] === 0) doneAt.set(h.index, recv[i]!.exitedAt);
      if (exits[i] !== 0 || wrong.length > 0)
        problems.push(
          `host ${h.index}: ${exits[i] === 0 ? wrong.join('; ') : `pipeline exit ${exits[i]} (${join(o.dir, `${recv[i]!.name}.log`)})`}`,
        );
    }
    const expected = receivers.map((h) => h.index);
    const run = { t0, doneAt, expected };
    return { ...run, makespanMs: makespanOf(run, expected), ok: problems.length === 0, problems };
  } finally {
    await stopAll(children);
  }
}
