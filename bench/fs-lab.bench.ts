/**
 * Bench 6 — realistic images (issue 26's acceptance bench). The bench builds an ext4 and an NTFS
 * master image itself (bench/lib/fs-image.ts: real files from this machine, a share of them
 * written and deleted so free space holds stale bytes; cached across runs), then on bench 2's lab
 * (namespaces, 100 Mbit/s HTB per host) images every host with:
 *   clonezilla   Clonezilla SE's way: `partclone.<fs> -c | zstd -3` stored beforehand, udp-sender
 *                of that file, `udp-receiver | zstd -d | partclone.<fs> -r` on every host
 *   udpcast-raw  udpcast multicast of the raw image (into md5sum on every host)
 *   cascade      `cascade seed IMAGE --relay` with its defaults, a peer on every host
 * Every restored target passes fsck -n and holds the source's used blocks (and files).
 *
 *   npm run bench -- 6 [--fs ext4,ntfs] [--image-size 1GiB] [--hosts 16]
 *                      [--methods clonezilla,udpcast-raw,cascade] [--udp-bitrate 95m]
 *                      [--file-digests first|all|none]
 *
 * Images are cached under $BENCH_IMAGE_DIR (default /var/tmp/cascade-bench-images).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabRun } from './lab/cascade-lab.js';
import { runCascadeRealistic, runClonezilla, runRawUdpcast } from './lab/fs-rows.js';
import { fsLabTable, imageTable, rawSbMs, type FsRow, type FsTableSetup } from './lab/fs-tables.js';
import { canBuildNamespaces, NetLab, type LabHost } from './lab/netns.js';
import { describeProblems, restoreProblems } from './lab/restore-check.js';
import { udpcastMissing } from './lab/udpcast.js';
import { meanRx } from './lab/wire.js';
import { progress, workdir } from './lib/cascade.js';
import { realisticImage, type FsImage } from './lib/fs-image.js';
import { FS_KINDS, fsToolsMissing, unmountOnExit, type FsKind } from './lib/fs-tools.js';
import type { BenchOptions } from './lib/options.js';
import { CpuSampler } from './lib/proc.js';
import { mib, seconds, type BenchResult, type BenchTable } from './lib/report.js';

const MBIT = 100;
const METHODS = ['clonezilla', 'udpcast-raw', 'cascade'];
const NAMES: Record<string, string> = {
  clonezilla: 'Clonezilla SE (partclone | zstd -3, multicast)',
  'udpcast-raw': 'udpcast multicast, raw image',
  cascade: 'cascade seed --relay (defaults)',
};

interface FsLabSetup extends FsTableSetup {
  fsList: FsKind[];
  size: number;
  methods: string[];
  timeoutMs: number;
}

function setup(o: BenchOptions): FsLabSetup {
  const fsList = o.string('fs', 'ext4,ntfs').split(',').filter(Boolean) as FsKind[];
  const badFs = fsList.filter((f) => !FS_KINDS.includes(f));
  if (badFs.length > 0) throw new Error(`--fs: unknown ${badFs.join(', ')} (known: ${FS_KINDS.join(', ')})`);
  const methods = o.string('methods', METHODS.join(',')).split(',').filter(Boolean);
  const bad = methods.filter((m) => !METHODS.includes(m));
  if (bad.length > 0) throw new Error(`--methods: unknown ${bad.join(', ')} (bench 6 knows: ${METHODS.join(', ')})`);
  const fileDigests = o.string('file-digests', 'first');
  if (!['first', 'all', 'none'].includes(fileDigests)) throw new Error('--file-digests takes first, all or none');
  const size = o.size('image-size', '1GiB', '256MiB');
  return {
    fsList,
    size,
    methods: METHODS.filter((m) => methods.includes(m)),
    n: o.number('hosts', 16, 4),
    mbit: MBIT,
    udpBitrate: o.string('udp-bitrate', '95m'),
    inMemory: false,
    fileDigests: fileDigests as FsTableSetup['fileDigests'],
    timeoutMs: Math.max(5 * 60_000, ((size * 8) / 1e6) * 1000), // ≥ the image at 1 Mbit/s
  };
}

export async function fsLabBench(o: BenchOptions): Promise<BenchResult> {
  const s = setup(o);
  const images: FsImage[] = [];
  const skipped: string[] = [];
  for (const fs of s.fsList) {
    const missing = fsToolsMissing(fs);
    if (missing) {
      progress(`bench 6: ${missing}`);
      skipped.push(missing);
      continue;
    }
    try {
      images.push(await realisticImage(fs, s.size));
    } catch (err) {
      const why = `${fs}: skipped — the image could not be built: ${(err as Error).message}`;
      progress(`bench 6: ${why}`);
      skipped.push(why);
    }
  }
  for (const img of images)
    progress(
      `bench 6: ${img.fs}: ${mib(img.size)}, non-zero ${mib(img.nonZeroBlocks)} (4 MiB slices: ${mib(img.nonZeroSlices)}), used ${mib(img.used)}, zstd -3 ${mib(img.zstdRaw)}, partclone | zstd -3 ${mib(img.pcZstBytes)}`,
    );
  const tables: BenchTable[] = [imageTable(images, skipped)];
  const perFs: Record<string, FsRow[]> = {};
  if (images.length > 0 && !canBuildNamespaces()) {
    skipped.push('lab rows: skipped (the namespace lab needs root)');
  } else if (images.length > 0) {
    const wd = await workdir('fs-lab', tmpfsBytes(s, images));
    s.inMemory = wd.inMemory;
    const guard = wd.inMemory ? unmountOnExit(wd.dir) : null;
    let lab: NetLab | null = null;
    try {
      progress(`bench 6: building ${s.n + 1} namespaces with ${MBIT} Mbit/s HTB each way`);
      lab = await NetLab.create(s.n + 1, MBIT);
      for (const img of images) {
        perFs[img.fs] = await runRows(s, lab.hosts, img, wd.dir);
        tables.push(fsLabTable(s, img, perFs[img.fs]!));
      }
    } finally {
      await lab?.destroy();
      await wd.done();
      guard?.release();
    }
  }
  return { id: 6, name: 'realistic images', tables, data: resultData(s, images, perFs, skipped) };
}

/**
 * The tmpfs size for the targets when this machine has the memory to spare (every host's target
 * at once: Clonezilla's are sparse, used blocks only; cascade's hold every non-zero slice today),
 * else undefined: targets on the disk.
 */
function tmpfsBytes(s: FsLabSetup, images: FsImage[]): number | undefined {
  const perHost = Math.max(...images.map((i) => (s.methods.includes('cascade') ? i.nonZeroSlices : i.used)));
  const need = s.n * perHost + 256 * 2 ** 20;
  const avail = Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) * 1024;
  if (need + 4 * 2 ** 30 > avail) {
    progress(`bench 6: targets on the disk (${mib(need)} of targets, ${mib(avail)} of memory available)`);
    return undefined;
  }
  return s.n * images[0]!.size + 256 * 2 ** 20; // a cap, not a reservation
}

async function measure(
  fs: FsKind,
  row: Omit<FsRow, 'run' | 'wireBytes' | 'cpu'>,
  fn: () => Promise<LabRun>,
  receivers: LabHost[],
): Promise<FsRow> {
  const label = `${fs}: ${row.name}`;
  progress(`bench 6: ${label}`);
  const cpu = new CpuSampler();
  cpu.start();
  try {
    const { result: run, rx } = await meanRx(receivers, fn);
    const why = run.ok ? '' : ` — problems: ${run.problems.slice(0, 3).join('; ')}`;
    progress(`bench 6: ${label}: ${seconds(run.makespanMs)}, ${rx === null ? '?' : mib(rx)} per receiver${why}`);
    return { ...row, run, wireBytes: rx, cpu: cpu.stop() };
  } catch (err) {
    cpu.stop();
    progress(`bench 6: ${label}: FAILED — ${(err as Error).message}`);
    return { ...row, run: null, wireBytes: null, cpu: null, error: (err as Error).message };
  }
}

async function runRows(s: FsLabSetup, hosts: LabHost[], img: FsImage, dir: string): Promise<FsRow[]> {
  const receivers = hosts.slice(1);
  const rows: FsRow[] = [];
  const first = receivers[0]?.index;
  const files = (index: number): boolean => s.fileDigests === 'all' || (s.fileDigests === 'first' && index === first);
  const check = async (target: string, index: number): Promise<string[]> => {
    const problems = await restoreProblems(img, target, dir, files(index));
    return problems.length > 0 ? [describeProblems(`target of host ${index}`, problems)] : [];
  };
  const udpMissing = udpcastMissing(true);
  for (const method of s.methods) {
    const base = { method, name: NAMES[method]!, payloadBytes: null as number | null };
    if (method !== 'cascade' && udpMissing) {
      rows.push({ ...base, run: null, wireBytes: null, cpu: null, skipped: `${img.fs}: ${base.name}: ${udpMissing}` });
      continue;
    }
    const ctx = {
      img,
      hosts,
      dir: join(dir, `${img.fs}-${method}`),
      timeoutMs: s.timeoutMs,
      bitrate: s.udpBitrate,
      check,
    };
    const runs = { clonezilla: runClonezilla, 'udpcast-raw': runRawUdpcast, cascade: runCascadeRealistic };
    const payloadBytes = method === 'clonezilla' ? img.pcZstBytes : method === 'udpcast-raw' ? img.size : null;
    const run = runs[method as keyof typeof runs];
    rows.push(await measure(img.fs, { ...base, payloadBytes }, () => run(ctx), receivers));
  }
  return rows;
}

function resultData(
  s: FsLabSetup,
  images: FsImage[],
  perFs: Record<string, FsRow[]>,
  skipped: string[],
): Record<string, unknown> {
  return {
    hosts: s.n,
    mbit: MBIT,
    imageSize: s.size,
    inMemory: s.inMemory,
    skipped,
    images: images.map(({ usedRanges: _ranges, ...rest }) => ({ ...rest, usedRangeCount: _ranges.length })),
    rawSbMs: Object.fromEntries(images.map((i) => [i.fs, rawSbMs(i, MBIT)])),
    runs: Object.fromEntries(
      Object.entries(perFs).map(([fs, rows]) => [
        fs,
        rows.map((r) => ({
          method: r.method,
          makespanMs: r.run?.makespanMs ?? null,
          doneAfterMs: r.run ? Object.fromEntries([...r.run.doneAt].map(([h, t]) => [h, t - r.run!.t0])) : null,
          wireBytesPerReceiver: r.wireBytes,
          payloadBytes: r.payloadBytes,
          ok: r.run?.ok ?? null,
          problems: r.run?.problems ?? null,
          cpu: r.cpu,
          skipped: r.skipped ?? null,
          error: r.error ?? null,
        })),
      ]),
    ),
  };
}
