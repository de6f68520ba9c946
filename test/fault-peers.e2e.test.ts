import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CASCADE_BIN, exitWithin, writeImage } from '@cascade/cli';
import { FaultLab, matchingSlices } from './fault-lab.js';
import { tempDir } from './helpers.js';

// Fault injection on the client side: peers killed, stopped, frozen, out of disk; and the
// differential update of an already-imaged machine. Real processes on loopback, rate-capped.

const MiB = 1024 * 1024;
const SLICE = 256 * 1024;

async function lab(name: string, host: string, size = 16 * MiB): Promise<FaultLab> {
  const dir = await tempDir(name);
  const image = join(dir, 'master.img');
  await writeImage(image, { size, seed: name, zeros: [] });
  const l = new FaultLab(dir, image, size, 'lab', host);
  await l.startCoordinator(['--ping-interval', '1s']);
  return l;
}

function note(what: string, fields: Record<string, unknown>): void {
  process.stdout.write(`# ${what}: ${JSON.stringify(fields)}\n`);
}

describe('fault tolerance: peers that die, stop, freeze or run out of disk (real processes)', () => {
  test('a peer killed after half its image and restarted with --reuse fetches only what it is missing', async () => {
    const l = await lab('reuse-restart', '127.0.6.11');
    const slices = l.size / SLICE;
    l.startSeeder(['--capacity', '1', '--rate', '4MB/s', '--slice', '256KiB', '--end-count', '1']);
    const first = l.startPeer(1, ['--capacity', '0']);
    await l.waitFor('half the image', (s) => s.transfers.some((t) => t.slices >= slices / 2));
    first.proc.kill('SIGKILL');
    await l.finish(first, 5000);
    const kept = await matchingSlices(l.image, first.target, l.size, SLICE);
    assert.ok(kept >= slices / 2 - 2 && kept < slices, `kept ${kept} of ${slices} slices`);
    const t0 = Date.now();
    const again = l.startPeer(1, ['--capacity', '0', '--reuse']);
    const r = await l.finish(again);
    assert.equal(r.exit, 0, `exit (see ${again.logFile})`);
    assert.ok(r.exact, 'target is byte-exact');
    assert.equal(r.report?.slicesReused, kept, 'every slice that survived the kill was reused');
    const limit = (slices - kept + 1) * SLICE;
    assert.ok((r.report?.bytesReceived ?? Infinity) <= limit, `fetched ${r.report?.bytesReceived} > ${limit}`);
    note('reuse-after-kill', {
      keptSlices: kept,
      ofSlices: slices,
      bytesFetched: r.report?.bytesReceived,
      limit,
      seconds: (Date.now() - t0) / 1000,
    });
  });

  test('--reuse on the previous image version with 5 % of slices changed transfers at most 6 % of the image', async () => {
    const size = 20 * MiB; // 80 slices; 4 change
    const l = await lab('differential', '127.0.6.12', size);
    const old = join(l.dir, 'previous.img');
    await copyFile(l.image, old);
    const changed = [3, 29, 30, 77];
    const fh = await open(l.image, 'r+');
    for (const i of changed) await fh.write(Buffer.alloc(4096, 0xa5), 0, 4096, i * SLICE + 1000);
    await fh.close();
    const target = join(l.dir, 'peer-1.img');
    await copyFile(old, target);
    const t0 = Date.now();
    l.startSeeder(['--capacity', '1', '--slice', '256KiB', '--end-count', '1']);
    const p = l.startPeer(1, ['--capacity', '0', '--reuse']);
    const r = await l.finish(p);
    assert.equal(r.exit, 0, `exit (see ${p.logFile})`);
    assert.ok(r.exact, 'target is byte-exact with the new version');
    const got = r.report?.bytesReceived ?? Infinity;
    assert.equal(got, changed.length * SLICE, 'exactly the changed slices crossed the wire');
    assert.ok(got <= 0.06 * size);
    note('differential-5%', { bytes: got, share: got / size, seconds: (Date.now() - t0) / 1000 });
  });

  test('a frozen server (SIGSTOP): its client detects the stall and moves; the coordinator drops it', async () => {
    const l = await lab('frozen-server', '127.0.6.13');
    const t0 = Date.now();
    const seedArgs = ['--capacity', '1', '--rate', '8MB/s', '--slice', '256KiB', '--end-count', '2'];
    const seeder = l.startSeeder(seedArgs);
    const p1 = l.startPeer(1, ['--capacity', '1', '--rate', '2MB/s']);
    await l.waitFor('peer-1 imaged', (s) => s.imaged >= 1);
    // peer-1 is left the only server: peer-2 is on it whatever the timing.
    await l.killSeeder(seeder);
    const p2 = l.startPeer(2, ['--stall', '3s']);
    await l.waitFor('peer-2 1 MiB into peer-1', (s) =>
      s.transfers.some((t) => t.clientName === 'peer-2' && t.serverName === 'peer-1' && t.bytes >= MiB),
    );
    p1.proc.kill('SIGSTOP');
    const frozenAt = Date.now();
    await l.waitFor('peer-1 dropped', (s) => !s.servers.some((x) => x.name === 'peer-1'), 15_000);
    const droppedAfter = (Date.now() - frozenAt) / 1000;
    // A new seeder process (a new member): under the old name it would be shown as `seeder-2`,
    // since the killed one keeps `seeder` in the session's names; give it a name of its own.
    const again = l.startSeeder(seedArgs, 'seeder-b');
    const r = await l.finish(p2);
    assert.equal(r.exit, 0, `exit (see ${p2.logFile})`);
    assert.ok(r.exact, 'byte-exact');
    const t = r.report?.transfers ?? [];
    assert.equal(t[0]?.server, 'peer-1');
    // Its stall watch drops the frozen server, or the coordinator moves it first (its rate fell to 0
    // while seeder-b had a free slot: routing around slow machines).
    assert.ok(['ERR_SERVER_LOST', 'ERR_MOVED'].includes(t[0]?.error ?? ''), JSON.stringify(t));
    assert.deepEqual(t.at(-1) && [t.at(-1)?.server, t.at(-1)?.error], ['seeder-b', null], JSON.stringify(t));
    assert.equal(r.report?.bytesReceived, l.size, 'nothing fetched twice');
    assert.equal(await exitWithin(again, 15_000), 0, 'the seeder ends with the session');
    p1.proc.kill('SIGKILL');
    note('frozen-server', { droppedAfterSeconds: droppedAfter, seconds: (Date.now() - t0) / 1000 });
  });

  test('SIGTERM: a serving peer stops cleanly and its client moves; a downloading peer exits 5 keeping only verified slices', async () => {
    const l = await lab('graceful-stop', '127.0.6.14');
    const slices = l.size / SLICE;
    const seedArgs = ['--capacity', '1', '--rate', '4MB/s', '--slice', '256KiB', '--end-count', '4'];
    const seeder = l.startSeeder(seedArgs);
    const p1 = l.startPeer(1, ['--capacity', '1', '--rate', '2MB/s']);
    await l.waitFor('peer-1 imaged', (s) => s.imaged >= 1);
    // peer-1 is left the only server: peer-2 is on it whatever the timing.
    await l.killSeeder(seeder);
    const p2 = l.startPeer(2, ['--capacity', '0']);
    await l.waitFor('peer-2 1 MiB into peer-1', (s) =>
      s.transfers.some((t) => t.clientName === 'peer-2' && t.serverName === 'peer-1' && t.bytes >= MiB),
    );
    p1.proc.kill('SIGTERM');
    const r1 = await l.finish(p1, 10_000);
    assert.equal(r1.exit, 0, 'an imaged peer that is stopped exits 0: its image is complete');
    l.startSeeder(seedArgs);
    const p3 = l.startPeer(3, ['--rate', '1MB/s', '--capacity', '1']);
    await l.waitFor('peer-2 and peer-3 imaged', (s) => s.imaged >= 3);
    // peer-4 downloads from the seeder (4 MB/s) or peer-3 (1 MB/s); stop it part way.
    const p4 = l.startPeer(4, ['--capacity', '0']);
    await l.waitFor('peer-4 some slices in', (s) =>
      s.transfers.some((t) => t.clientName === 'peer-4' && t.slices >= slices / 8),
    );
    p4.proc.kill('SIGTERM');
    const r4 = await l.finish(p4, 10_000);
    assert.equal(r4.exit, 5, 'stopped before the image was complete');
    assert.match(
      r4.report?.error ?? '',
      /slices verified and kept on the target; run again with --reuse .*ERR_STOPPED/,
    );
    const kept = await matchingSlices(l.image, p4.target, l.size, SLICE);
    const claimed = r4.report?.transfers?.reduce((a, t) => a + t.slices, 0) ?? -1;
    assert.equal(kept, claimed, 'every slice counted as received is on disk and verified; no half-written slice');
    assert.ok(kept > 0 && kept < slices, `kept ${kept} of ${slices}`);
    await l.waitFor(
      'peer-4 gone from the queues',
      (s) => s.transfers.every((t) => t.clientName !== 'peer-4') && s.waiting.every((w) => w.name !== 'peer-4'),
    );
    const ended = execFileSync(process.execPath, [CASCADE_BIN, 'end', 'lab', '--coordinator', l.url], {
      timeout: 15_000,
    });
    assert.match(ended.toString(), /session lab: ended/);
    const r2 = await l.finish(p2);
    assert.equal(r2.exit, 0, `peer-2 exit (see ${p2.logFile})`);
    assert.ok(r2.exact);
    assert.equal(r2.report?.transfers?.[0]?.server, 'peer-1');
    assert.equal(r2.report?.bytesReceived, l.size, 'nothing fetched twice');
    assert.equal((await l.finish(p3)).exact, true);
    const coordinatorLog = await readFile(l.coordinator.logFile, 'utf8');
    assert.match(coordinatorLog, /"peer":"peer-1","reason":"SIGTERM".*"msg":"peer leaving"/);
    note('graceful-stop', { downloadingPeerKept: kept, ofSlices: slices });
  });

  test('disk full: the peer exits 3 with a clear message, the coordinator is told, others are unaffected', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root to mount a small tmpfs as a full disk');
      return;
    }
    const l = await lab('disk-full', '127.0.6.15');
    const small = join(l.dir, 'small');
    await mkdir(small);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', small]);
    } catch (err) {
      t.skip(`cannot mount a tmpfs here: ${(err as Error).message}`);
      return;
    }
    try {
      l.startSeeder(['--capacity', '2', '--rate', '8MB/s', '--slice', '256KiB', '--end-count', '1']);
      const full = l.startPeer(1, ['--capacity', '0'], 'peer-1', join(small, 'target.img'));
      const ok = l.startPeer(2, ['--capacity', '0']);
      const rf = await l.finish(full, 30_000);
      assert.equal(rf.exit, 3, `exit (see ${full.logFile})`);
      assert.match(rf.report?.error ?? '', /no space left on device.*ERR_TARGET_UNUSABLE/i);
      const stderr = await readFile(full.logFile, 'utf8');
      assert.match(stderr, /cascade peer: target .* no space left on device/i);
      const coordinatorLog = await readFile(l.coordinator.logFile, 'utf8');
      // the client's code is logged as its report, never as the coordinator's own error code
      assert.match(coordinatorLog, /"reportedCode":"ERR_TARGET_UNUSABLE".*"msg":"transfer failed"/);
      assert.doesNotMatch(coordinatorLog, /"code":"ERR_TARGET_UNUSABLE"/);
      const r = await l.finish(ok);
      assert.equal(r.exit, 0);
      assert.ok(r.exact, 'the other peer is unaffected');
    } finally {
      await l.killAll();
      execFileSync('umount', ['-l', small]);
    }
  });
});
