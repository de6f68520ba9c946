/**
 * The rows of bench 6, one function each, on any lab and realistic image: the Clonezilla SE
 * pipeline, udpcast of the raw image, and cascade's default streaming command. Each returns the
 * run (makespan, hosts done, problems found by `check` on every restored target).
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { prepareManifests, progress } from '../lib/cascade.js';
import type { FsImage } from '../lib/fs-image.js';
import { q } from '../lib/fs-tools.js';
import { runCascadeLab, type LabRun } from './cascade-lab.js';
import type { LabHost } from './netns.js';
import { runUdpcastPipe } from './udpcast-pipe.js';

export interface RowContext {
  img: FsImage;
  /** Host 0 serves; every other host receives. */
  hosts: LabHost[];
  /** A folder of this row's own (logs, targets). */
  dir: string;
  timeoutMs: number;
  /** udp-sender --max-bitrate. */
  bitrate: string;
  /** What is wrong with a restored target of host `index` (empty: a correct restore). */
  check: (target: string, index: number) => Promise<string[]>;
}

/**
 * Clonezilla SE's way: the image stored beforehand as `partclone.<fs> -c | zstd -3` (img.pcZst),
 * multicast with udp-sender, and on every host `udp-receiver | zstd -d | partclone.<fs> -r -s -
 * -O TARGET`. Each target is a file of the source's size (a partition of the same geometry, what
 * Clonezilla restores into), which partclone overwrites with the used blocks.
 */
export async function runClonezilla(c: RowContext): Promise<LabRun> {
  const { img } = c;
  const target = (h: LabHost): string => join(c.dir, `h${h.index}.img`);
  await mkdir(c.dir, { recursive: true });
  for (const h of c.hosts.slice(1)) {
    const fh = await open(target(h), 'w');
    await fh.truncate(img.size).finally(() => fh.close());
  }
  return runUdpcastPipe({
    hosts: c.hosts,
    dir: c.dir,
    timeoutMs: c.timeoutMs,
    bitrate: c.bitrate,
    file: img.pcZst,
    consume: (h) => `zstd -d -q | partclone.${img.fs} -q -r -s - -O ${q(target(h))} -L ${q(`${target(h)}.pclog`)}`,
    check: async (h) => {
      const wrong = await c.check(target(h), h.index);
      await rm(target(h), { force: true });
      return wrong;
    },
  });
}

/** udpcast multicast of the raw image, into md5sum on every host: the digest must be the image's. */
export async function runRawUdpcast(c: RowContext): Promise<LabRun> {
  const sum = (h: LabHost): string => join(c.dir, `h${h.index}.md5`);
  return runUdpcastPipe({
    hosts: c.hosts,
    dir: c.dir,
    timeoutMs: c.timeoutMs,
    bitrate: c.bitrate,
    file: c.img.image,
    consume: (h) => `md5sum > ${q(sum(h))}`,
    check: async (h) => {
      const got = (await readFile(sum(h), 'utf8')).split(' ')[0];
      return got === c.img.md5 ? [] : [`md5 ${got} is not the image's ${c.img.md5}`];
    },
  });
}

/**
 * cascade's default streaming command on the image: `cascade seed IMAGE --relay` with every other
 * setting default (coordinator and seeder on host 0), a peer on every other host writing a file
 * target; every target checked by `check` (fsck and the used blocks, not byte equality with the
 * image: once cascade sends used blocks only, free space rightly differs). The image's manifests
 * are built first (`cascade manifest`, cached beside the image), as an admin does once per image.
 */
export async function runCascadeRealistic(c: RowContext): Promise<LabRun> {
  progress(`bench 6: cascade manifest ${c.img.image} (cached beside the image)`);
  await prepareManifests(c.img.image);
  return runCascadeLab({
    label: 'run',
    hosts: c.hosts,
    image: c.img.image,
    size: c.img.size,
    relay: true,
    seederArgs: [],
    peerArgs: [],
    workdir: c.dir,
    extra: [],
    timeoutMs: c.timeoutMs,
    verify: c.check,
  });
}
