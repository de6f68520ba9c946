import assert from 'node:assert/strict';
import { copyFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { covers } from '../packages/common/test/disk-fixtures.js';
import { FaultLab, type LabPeer, type PeerReport } from './fault-lab.js';
import {
  assertFsck,
  assertUsedEqual,
  debugfs,
  ext4Image,
  fsTools,
  layoutOf,
  labFiles,
  ntfsBackupBoot,
  ntfsImage,
} from './fs-lab.js';
import { tempDir } from './helpers.js';

// Real filesystems through real processes (seeder + coordinator + peers on loopback): only used
// bytes cross the wire, compressed; every hop verifies; targets pass fsck.

type WireReport = PeerReport & { wireBytesReceived?: number };

let skip: string | null = null;
before(async () => {
  skip = await fsTools();
});

async function lab(name: string, host: string, image: string): Promise<FaultLab> {
  const l = new FaultLab(join(image, '..'), image, (await stat(image)).size, 'lab', host);
  await l.startCoordinator(['--ping-interval', '1s']);
  return l;
}

/** Seed `l.image` in relay mode to `n` peers at once; every peer's exit, report and target. */
async function relayChain(
  l: FaultLab,
  n: number,
  seedArgs: string[] = [],
): Promise<{ p: LabPeer; report: WireReport }[]> {
  const count = String(n);
  l.startSeeder([
    '--relay',
    '--capacity',
    '1',
    '--slice',
    '1MiB',
    '--start-count',
    count,
    '--end-count',
    count,
    ...seedArgs,
  ]);
  const peers = Array.from({ length: n }, (_, i) => l.startPeer(i + 1, [], `P${i + 1}`));
  const out = [];
  for (const p of peers) {
    const r = await l.finish(p, 180_000);
    assert.equal(r.exit, 0, `${p.name} exit (see ${p.logFile})`);
    out.push({ p, report: (r.report ?? {}) as WireReport });
  }
  return out;
}

/** Every peer holds the used ranges exactly, its filesystem passes fsck, and compression happened. */
async function assertRestored(
  l: FaultLab,
  kind: 'ext' | 'ntfs',
  peers: { p: LabPeer; report: WireReport }[],
): Promise<void> {
  const layout = await layoutOf(l.image);
  assert.ok(layout.usedBytes < l.size * 0.8, `the map leaves free space out (${layout.usedBytes} of ${l.size})`);
  for (const { p, report } of peers) {
    await assertUsedEqual(l.image, p.target, layout.used, p.name);
    await assertFsck(kind, p.target, p.name);
    const payload = report.bytesReceived ?? 0;
    const wire = report.wireBytesReceived ?? Infinity;
    assert.ok(payload > 0 && payload <= layout.usedBytes, `${p.name}: payload ${payload} within the used bytes`);
    assert.ok(wire < payload * 0.6, `${p.name}: ${wire} bytes on the wire for ${payload} of payload`);
  }
}

describe('filesystem images restored through a relay chain', () => {
  test('ext4: 3 peers, every target equal on the used ranges, e2fsck clean, sent compressed', async (t) => {
    if (skip !== null) return t.skip(skip);
    const dir = await tempDir('fs-ext4-relay');
    const image = await ext4Image(dir, 'ext4', 48, 11);
    const l = await lab('ext4', '127.0.6.41', image);
    const peers = await relayChain(l, 3);
    await assertRestored(l, 'ext', peers);
    const fromRelay = peers.filter(({ report }) => (report.servers ?? []).some((s) => /^P\d$/.test(s)));
    assert.ok(fromRelay.length >= 1, `a peer fed by a relay: ${JSON.stringify(peers.map((x) => x.report.servers))}`);
  });

  test('NTFS: 3 peers, the backup boot sector sent, ntfsfix -n clean, sent compressed', async (t) => {
    if (skip !== null) return t.skip(skip);
    const dir = await tempDir('fs-ntfs-relay');
    const image = await ntfsImage(dir, 'ntfs', 32, 12);
    if (typeof image !== 'string') return t.skip(image.skip);
    const layout = await layoutOf(image);
    assert.ok(covers(layout.used, [await ntfsBackupBoot(image)]), 'the map covers the backup boot sector');
    const l = await lab('ntfs', '127.0.6.42', image);
    await assertRestored(l, 'ntfs', await relayChain(l, 3));
  });

  test('a slice corrupted in its compressed form is caught, fetched again and reported; the image is right', async (t) => {
    if (skip !== null) return t.skip(skip);
    const dir = await tempDir('fs-corrupt');
    const image = await ext4Image(dir, 'ext4', 24, 13);
    const l = await lab('corrupt', '127.0.6.43', image);
    // Slice 0 holds the superblock and group descriptors: never a zero slice, always compressed.
    const peers = await relayChain(l, 1, ['--fault', 'corrupt-once:0']);
    await assertRestored(l, 'ext', peers);
    assert.equal(peers[0]?.report.badSlices, 1, JSON.stringify(peers[0]?.report));
    const log = await import('node:fs/promises').then((fs) => fs.readFile(peers[0]!.p.logFile, 'utf8'));
    assert.match(log, /ERR_SLICE_DIGEST_MISMATCH/, 'the bad slice is logged (and the server reported)');
  });
});

describe('--reuse after the master changed', () => {
  test('only the changed used blocks cross the wire; the target is the new image on its used ranges', async (t) => {
    if (skip !== null) return t.skip(skip);
    const dir = await tempDir('fs-reuse');
    const v1 = await ext4Image(dir, 'v1', 48, 14);
    const target = join(dir, 'machine.img');
    const l1 = await lab('reuse-1', '127.0.6.44', v1);
    l1.startSeeder(['--slice', '1MiB', '--start-count', '1', '--end-count', '1']);
    assert.equal((await l1.finish(l1.startPeer(1, [], 'M', target), 120_000)).exit, 0);
    await l1.killAll();

    // v2: one file changed, one added (a few blocks of data and metadata).
    const v2 = join(dir, 'v2.img');
    await copyFile(v1, v2);
    const files = join(dir, 'v2-files');
    const [changed, added] = await labFiles(files, 2, 64, 99);
    await debugfs(v2, [
      'rm /f000.txt',
      `write ${join(files, changed!)} /f000.txt`,
      `write ${join(files, added!)} /new.txt`,
    ]);
    await assertFsck('ext', v2, 'v2');
    const l2 = await lab('reuse-2', '127.0.6.45', v2);
    l2.startSeeder(['--slice', '1MiB', '--start-count', '1', '--end-count', '1']);
    const r = await l2.finish(l2.startPeer(1, ['--reuse'], 'M', target), 120_000);
    assert.equal(r.exit, 0);
    const report = (r.report ?? {}) as WireReport;
    const layout = await layoutOf(v2);
    await assertUsedEqual(v2, target, layout.used, 'M');
    await assertFsck('ext', target, 'M');
    assert.ok((report.slicesReused ?? 0) > 0, JSON.stringify(report));
    assert.ok(
      (report.bytesReceived ?? Infinity) < layout.usedBytes / 4,
      `received ${report.bytesReceived} of ${layout.usedBytes} used bytes`,
    );
  });
});
