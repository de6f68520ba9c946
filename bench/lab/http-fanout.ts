import { mkdir, rm } from 'node:fs/promises';
import { firstDifference } from '@cascade/cli';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild, stopAll, waitForLine, type Child } from './children.js';
import { makespanOf, type LabRun } from './cascade-lab.js';
import type { LabHost } from './netns.js';

const FILE_SERVER = fileURLToPath(new URL('./file-server.ts', import.meta.url));

/** Start the HTTP file server + tracker on host 0; resolves with its base URL. */
export async function startFileServer(
  h0: LabHost,
  image: string,
  workdir: string,
  rateBytesPerS?: number,
): Promise<{ child: Child; url: string }> {
  const argv = [...h0.exec, process.execPath, '--import', 'tsx', FILE_SERVER, image, h0.addr];
  if (rateBytesPerS) argv.push(String(rateBytesPerS));
  const child = startChild('file-server', argv, workdir);
  const m = await waitForLine(child, /^port (\d+)/, 15_000);
  return { child, url: `http://${h0.addr}:${m[1]}` };
}

/**
 * HTTP unicast fan-out: every host (but 0) downloads the image from host 0 with curl at once;
 * the makespan runs from launching the downloads to the last one finished; each file is compared
 * with the image byte for byte.
 */
export async function runFanout(
  hosts: LabHost[],
  url: string,
  image: string,
  size: number,
  workdir: string,
  timeoutMs: number,
): Promise<LabRun> {
  const dir = join(workdir, `http-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  const t0 = Date.now();
  const curls = hosts.map((h) =>
    startChild(
      `curl-${h.index}`,
      [...h.exec, 'curl', '-sS', '--fail', '--interface', h.addr, '-o', join(dir, `h${h.index}.img`), `${url}/image`],
      dir,
    ),
  );
  const timer = setTimeout(() => void stopAll(curls), timeoutMs);
  try {
    const exits = await Promise.all(curls.map((c) => c.exited));
    const problems: string[] = [];
    const doneAt = new Map<number, number>();
    for (const [i, h] of hosts.entries()) {
      const diff = await firstDifference(image, join(dir, `h${h.index}.img`), size).catch(() => 0);
      if (exits[i] === 0 && diff === -1) doneAt.set(h.index, curls[i]!.exitedAt);
      else problems.push(`host ${h.index}: curl exit ${exits[i]}, ${diff === -1 ? 'same' : `differs at ${diff}`}`);
    }
    const expected = hosts.map((h) => h.index);
    const run = { t0, doneAt, expected };
    return { ...run, makespanMs: makespanOf(run, expected), ok: problems.length === 0, problems };
  } finally {
    clearTimeout(timer);
    await stopAll(curls);
    await rm(dir, { recursive: true, force: true });
  }
}
