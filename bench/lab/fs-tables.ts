import type { FsImage } from '../lib/fs-image.js';
import { percent } from '../lib/proc.js';
import { mib, seconds, type BenchTable } from '../lib/report.js';
import type { LabRun } from './cascade-lab.js';

/** One row of bench 6: a method on one image (run null when skipped or broken). */
export interface FsRow {
  method: string;
  name: string;
  run: LabRun | null;
  /** Mean bytes each receiver's eth0 received during the run (null: not measured). */
  wireBytes: number | null;
  /** What the sender sends (the file multicast; null for cascade). */
  payloadBytes: number | null;
  cpu: { avg: number; peak: number } | null;
  skipped?: string;
  error?: string;
}

export interface FsTableSetup {
  n: number;
  mbit: number;
  udpBitrate: string;
  /** Where the targets were: a tmpfs mounted for the run, or this machine's disk. */
  inMemory: boolean;
  /** Which restored targets get the every-file digest through a read-only mount. */
  fileDigests: 'first' | 'all' | 'none';
}

/** Issue 26's targets for cascade's default streaming command. */
const TARGET_VS_CLONEZILLA = 0.9;
const TARGET_VS_SB = 0.25;

export function rawSbMs(img: FsImage, mbit: number): number {
  return ((img.size * 8) / (mbit * 1e6)) * 1000;
}

function result(r: FsRow): string {
  if (r.skipped) return 'skipped';
  if (r.error || !r.run) return 'FAILED';
  return r.run.ok ? 'ok' : 'FAILED';
}

function targets(r: FsRow, sb: number, clonezilla: number | null): string {
  if (r.method !== 'cascade' || !r.run || !Number.isFinite(r.run.makespanMs)) return '';
  const verdict = (x: number, limit: number): string => `≤ ${limit}: ${x <= limit ? 'met' : 'missed'}`;
  const vsSb = `S/B ${verdict(r.run.makespanMs / sb, TARGET_VS_SB)}`;
  const vsCz =
    clonezilla === null ? 'Clonezilla: no row' : `CZ ${verdict(r.run.makespanMs / clonezilla, TARGET_VS_CLONEZILLA)}`;
  return `${vsCz}; ${vsSb}`;
}

/** The images: what they hold and how far each kind of reduction shrinks them. */
export function imageTable(images: FsImage[], skipped: string[]): BenchTable {
  const pct = (x: number, img: FsImage): string => `${mib(x)} (${percent(x / img.size)})`;
  return {
    title: '6a. Realistic master images (built by the bench, cached)',
    header: [
      'image',
      'size',
      'files kept / deleted',
      'non-zero 4 MiB slices',
      'non-zero 4 KiB blocks',
      'used (partclone)',
      'zstd -3 of the image',
      'partclone | zstd -3',
    ],
    rows: images.map((img) => [
      img.fs,
      mib(img.size),
      `${img.keptFiles} (${mib(img.keptBytes)}) / ${img.deletedFiles} (${mib(img.deletedBytes)})`,
      pct(img.nonZeroSlices, img),
      pct(img.nonZeroBlocks, img),
      pct(img.used, img),
      pct(img.zstdRaw, img),
      pct(img.pcZstBytes, img),
    ]),
    notes: [
      'each image: mkfs (ext4: mkfs.ext4 with a fixed UUID; NTFS: mkntfs -F -f) on an image file, mounted (ext4: loop mount, nodiscard; NTFS: ntfs-3g FUSE), real files from /usr/lib and /usr/share copied in walk order (one tar stream), synced, then the largest of every three files deleted while the deleted bytes lag their share (at 1 GiB: 360 MiB kept, 385 MiB deleted), synced, unmounted: free space holds the deleted files’ bytes',
      'non-zero 4 MiB slices: what cascade sends today; used: partclone.<fs> --domain; zstd -3: the raw image through `zstd -3`; partclone | zstd -3: `partclone.<fs> -c -s IMAGE -o - | zstd -3`, the file the Clonezilla row multicasts',
      ...images.map((img) => `${img.fs}: ${img.image} (built in ${img.buildSeconds.toFixed(0)} s; md5 ${img.md5})`),
      ...skipped,
    ],
  };
}

/** One image's rows on the lab. */
export function fsLabTable(s: FsTableSetup, img: FsImage, rows: FsRow[]): BenchTable {
  const sb = rawSbMs(img, s.mbit);
  const cz = rows.find((r) => r.method === 'clonezilla' && r.run && Number.isFinite(r.run.makespanMs));
  const czMs = cz?.run?.makespanMs ?? null;
  const notes = [
    `lab: ${s.n + 1} network namespaces on a bridge, HTB ${s.mbit} Mbit/s each way per host (bench 2's lab); host 0 is the file server`,
    `raw S/B = ${mib(img.size)} × 8 / ${s.mbit} Mbit/s = ${seconds(sb)}; bytes on the wire: mean bytes received on each receiver's eth0 during the row (frames: headers, retransmissions and control traffic included)`,
    `clonezilla: \`partclone.${img.fs} -c -s IMAGE -o - | zstd -3\` stored beforehand (${mib(img.pcZstBytes)}); \`udp-sender --file IMAGE.pc.zst --min-receivers ${s.n} --max-bitrate ${s.udpBitrate}\` on host 0, \`udp-receiver | zstd -d | partclone.${img.fs} -r -s - -O TARGET\` on every host, TARGET a file of the image's size (a partition of the same geometry); makespan from udp-sender's launch to the last restore written (its pipeline's exit)`,
    `udpcast-raw: the raw image multicast the same way; each host pipes it into md5sum, and its digest must equal the image's (the same bytes: the filesystem checks follow)`,
    'cascade: `cascade seed IMAGE --relay` with every other setting default, a peer on every host writing a file target; makespan from the seeder launch (all peers waiting) to the last image verified; the image’s manifests were built before the row',
    `checks (after the makespan, not timed) on every restored target: ${img.fs === 'ext4' ? 'e2fsck -fn' : 'ntfsfix -n'} clean; partclone.${img.fs} --domain lists the source's used ranges; MD5 of those ranges equals the source's; every file's MD5 through a read-only mount (${s.fileDigests === 'all' ? 'every target' : s.fileDigests === 'first' ? "the first host's target of each row" : 'not run: --file-digests none'})`,
    s.inMemory
      ? 'targets: files on a tmpfs mounted for the run (each lab host has its own disk; one shared disk here would measure that disk)'
      : "targets: files on this machine's disk (not enough free memory for a tmpfs holding every target), shared by every host",
    'CPU: busy share of the whole machine (all cores), average and peak 1 s sample; other work on the machine adds noise',
  ];
  for (const r of rows) {
    if (r.skipped) notes.push(r.skipped);
    if (r.error) notes.push(`${r.name}: FAILED — ${r.error}`);
    if (r.run && !r.run.ok) notes.push(`${r.name}: FAILED — ${groupProblems(r.run.problems).join('; ')}`);
  }
  return {
    title: `6. ${img.fs} master image (${mib(img.size)}) on ${s.n} hosts at ${s.mbit} Mbit/s (raw S/B = ${seconds(sb)})`,
    header: [
      'method',
      'bytes on the wire',
      'makespan',
      '× raw S/B',
      '÷ Clonezilla',
      'issue 26 targets',
      'CPU avg / peak',
      'result',
    ],
    rows: rows.map((r) => {
      const ms = r.run?.makespanMs ?? NaN;
      return [
        r.name,
        r.wireBytes === null ? '—' : mib(r.wireBytes),
        r.run ? seconds(ms) : '—',
        r.run ? (ms / sb).toFixed(2) : 'n/a',
        r.run && czMs !== null ? (ms / czMs).toFixed(2) : 'n/a',
        targets(r, sb, czMs),
        r.cpu ? `${percent(r.cpu.avg)} / ${percent(r.cpu.peak)}` : '',
        result(r),
      ];
    }),
    notes,
  };
}

/** `host 3: X` lines with the same X as one `hosts 1, 2, 3: X` (at most 4 groups shown). */
export function groupProblems(problems: string[]): string[] {
  const groups = new Map<string, string[]>();
  for (const p of problems) {
    const m = /^host (\d+): (?:target of host \d+: )?(.*)$/s.exec(p);
    const [who, what] = m ? [m[1]!, m[2]!] : ['', p];
    groups.set(what, [...(groups.get(what) ?? []), who]);
  }
  const out = [...groups].map(([what, who]) => {
    const hosts = who.filter(Boolean);
    return hosts.length === 0 ? what : `host${hosts.length > 1 ? 's' : ''} ${hosts.join(', ')}: ${what}`;
  });
  return out.length > 4 ? [...out.slice(0, 4), `(+${out.length - 4} more)`] : out;
}
