import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import createTorrent from 'create-torrent';
import { firstDifference } from '@cascade/cli';
import { startChild, stopAll, waitForLine, type Child } from './children.js';
import { makespanOf, type LabRun } from './cascade-lab.js';
import type { LabHost } from './netns.js';

/** aria2c settings shared by the seed and the peers: no DHT, no local discovery, seed until killed. */
const ARIA2_COMMON = [
  '--enable-dht=false',
  '--enable-dht6=false',
  '--bt-enable-lpd=false',
  '--seed-ratio=0.0',
  '--file-allocation=none',
  '--summary-interval=0',
  '--console-log-level=warn',
  '--enable-color=false',
  '--allow-overwrite=true',
  '--auto-file-renaming=false',
  '--bt-max-peers=0',
];

function makeTorrent(image: string, tracker: string): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    createTorrent(
      image,
      { name: basename(image), announceList: [[tracker]], private: true, createdBy: 'cascade-bench' },
      (err, torrent) => (err ? reject(err) : resolve(torrent)),
    ),
  );
}

/**
 * A BitTorrent swarm with aria2c: host 0 seeds (its file server is the tracker), every other host
 * downloads and seeds what it has. The makespan runs from launching the downloads to the last
 * host's download complete (aria2c's --on-bt-download-complete hook stamps the time).
 */
export async function runSwarm(
  hosts: LabHost[],
  image: string,
  size: number,
  server: { child: Child; url: string },
  workdir: string,
  timeoutMs: number,
): Promise<LabRun> {
  const [h0, ...peerHosts] = hosts as [LabHost, ...LabHost[]];
  const dir = join(workdir, 'bt');
  await mkdir(dir, { recursive: true });
  const torrent = join(dir, 'image.torrent');
  await writeFile(torrent, await makeTorrent(image, `${server.url}/announce`));
  const hook = join(dir, 'done.sh');
  await writeFile(hook, '#!/bin/sh\ndate +%s%3N > "$3.done"\n');
  await chmod(hook, 0o755);
  const children: Child[] = [];
  try {
    const seeded = waitForLine(server.child, new RegExp(`^announce ${h0.addr.replace(/\./g, '\\.')} `), 30_000);
    const seedArgs = [
      ...h0.exec,
      'aria2c',
      ...ARIA2_COMMON,
      '--bt-seed-unverified=true',
      `--dir=${dirname(image)}`,
      torrent,
    ];
    children.push(startChild('aria2-seed', seedArgs, dir));
    await seeded;
    const t0 = Date.now();
    for (const h of peerHosts) {
      const d = join(dir, `h${h.index}`);
      await mkdir(d, { recursive: true });
      const args = [...h.exec, 'aria2c', ...ARIA2_COMMON, `--dir=${d}`, `--on-bt-download-complete=${hook}`, torrent];
      children.push(startChild(`aria2-h${h.index}`, args, d));
    }
    const doneFiles = peerHosts.map((h) => join(dir, `h${h.index}`, `${basename(image)}.done`));
    const times = await waitForAll(doneFiles, timeoutMs);
    const problems: string[] = [];
    const doneAt = new Map<number, number>();
    for (const [i, f] of doneFiles.entries()) {
      const diff = await firstDifference(image, f.replace(/\.done$/, ''), size).catch(() => 0);
      if (times[i] !== null && diff === -1) doneAt.set(peerHosts[i]!.index, times[i]!);
      else problems.push(`${basename(dirname(f))}: ${times[i] === null ? 'not done' : `differs at ${diff}`}`);
    }
    const expected = peerHosts.map((h) => h.index);
    const run = { t0, doneAt, expected };
    return { ...run, makespanMs: makespanOf(run, expected), ok: problems.length === 0, problems };
  } finally {
    await stopAll(children);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Poll for the hook's stamp files; resolves with each stamp (epoch ms) or null at the timeout. */
async function waitForAll(files: string[], timeoutMs: number): Promise<Array<number | null>> {
  const deadline = Date.now() + timeoutMs;
  const times: Array<number | null> = files.map(() => null);
  while (Date.now() < deadline && times.some((t) => t === null)) {
    for (const [i, f] of files.entries()) {
      if (times[i] !== null) continue;
      const text = await readFile(f, 'utf8').catch(() => '');
      if (/^\d+\s*$/.test(text)) times[i] = Number(text.trim());
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return times;
}
