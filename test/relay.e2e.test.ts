import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeImage } from '@cascade/cli';
import { FaultLab } from './fault-lab.js';
import { tempDir } from './helpers.js';

// Relay mode with real processes: peers serve each verified slice while still downloading.

const MiB = 1024 * 1024;
const SIZE = 16 * MiB;

async function lab(name: string, host: string): Promise<FaultLab> {
  const dir = await tempDir(name);
  const image = join(dir, 'master.img');
  await writeImage(image, { size: SIZE, seed: name, zeros: [[5 * MiB, 6 * MiB]] });
  const l = new FaultLab(dir, image, SIZE, 'lab', host);
  await l.startCoordinator(['--ping-interval', '1s']);
  return l;
}

/** `client` is transferring from one of `servers`. */
const onServer =
  (client: string, servers: string[]) => (s: { transfers: Array<{ clientName: string; serverName: string }> }) =>
    s.transfers.some((t) => t.clientName === client && servers.includes(t.serverName));

describe('relay mode (real processes on loopback)', () => {
  test('a 3-level relay chain streams: each level starts before the one above it is complete; all byte-exact', async () => {
    const l = await lab('relay-chain', '127.0.6.21');
    // The session starts once all three wait, so however slowly they start on a loaded machine,
    // all three are in the tree before anyone can be complete (A needs 8 s at 2 MB/s): the seeder
    // serves one, the others stream from relays.
    l.startSeeder(
      ['--relay', '--capacity', '1', '--rate', '2MB/s', '--slice', '256KiB'].concat([
        '--start-count',
        '3',
        '--end-count',
        '3',
      ]),
    );
    const peers = [l.startPeer(1, [], 'A'), l.startPeer(2, [], 'B'), l.startPeer(3, [], 'C')];
    const results = [];
    for (const p of peers) {
      const r = await l.finish(p);
      assert.equal(r.exit, 0, `${p.name} exit (see ${p.logFile})`);
      assert.ok(r.exact, `${p.name} byte-exact`);
      // One transfer, or a few ended only by a move (the head probe may trade two of them).
      const ts = r.report?.transfers ?? [];
      assert.ok(
        ts.length >= 1 && ts.length <= 3 && ts.slice(0, -1).every((t) => t.error === 'ERR_MOVED'),
        `${p.name}: ${JSON.stringify(ts)}`,
      );
      const last = ts.at(-1)!;
      results.push({
        name: p.name,
        started: ts[0]!.startedAt,
        complete: last.startedAt + last.ms,
        from: ts.map((t) => t.server),
      });
    }
    // Streaming, not store-and-forward: the first one complete was still transferring when the
    // other two had started, and two of the three were fed by a relay (a peer), not the seeder.
    const first = Math.min(...results.map((r) => r.complete));
    assert.ok(
      results.every((r) => r.started < first),
      `all three transferred at once: ${JSON.stringify(results)}`,
    );
    const fromRelay = results.filter((r) => r.from.some((s) => ['A', 'B', 'C'].includes(s)));
    assert.ok(fromRelay.length >= 2, `two fed by a relay: ${JSON.stringify(results)}`);
  });

  test('a relay whose upstream is killed mid-stream re-attaches ahead of it and finishes, and so does its own client', async () => {
    const l = await lab('relay-upstream-killed', '127.0.6.22');
    // 2 MB/s and the kill an eighth in: seconds of margin before B could be complete, even when
    // this test process is slow to see the status on a loaded machine.
    l.startSeeder(['--relay', '--capacity', '1', '--rate', '2MB/s', '--slice', '256KiB', '--end-count', '2']);
    const a = l.startPeer(1, ['--stall', '5s'], 'A');
    // B starts once A is 5 MiB ahead (2.5 s at 2 MB/s): B can then never catch up with A, so the
    // head probe (which trades a head with a client holding nearly as much) leaves A → B → C as it is.
    await l.waitFor('A 5 MiB in', (s) => s.transfers.some((t) => t.clientName === 'A' && t.bytes >= 5 * MiB));
    const b = l.startPeer(2, ['--stall', '5s'], 'B');
    await l.waitFor('B on A', onServer('B', ['A']));
    const c = l.startPeer(3, ['--stall', '10s'], 'C');
    // C streams from a relay (B, or A if rerouting put it there first: either is fine) and B is an
    // eighth in: the kill lands mid-stream for both, whichever pairing the scheduler chose.
    await l.waitFor(
      'C streaming, B an eighth in',
      (s) =>
        s.transfers.some((t) => t.clientName === 'C') &&
        s.transfers.some((t) => t.clientName === 'B' && t.bytes >= SIZE / 8),
    );
    a.proc.kill('SIGKILL');
    const rb = await l.finish(b);
    const rc = await l.finish(c);
    for (const [name, r] of [
      ['B', rb],
      ['C', rc],
    ] as const) {
      assert.equal(r.exit, 0, `${name} exit`);
      assert.ok(r.exact, `${name} byte-exact`);
      assert.ok((r.report?.bytesReceived ?? Infinity) <= SIZE, `${name} fetched no slice twice`);
      const ts = r.report?.transfers ?? [];
      // It finished from a live server (never the dead A), and every earlier transfer ended by the
      // kill of A (at once, or a quick retry of A before the coordinator saw it go) or by a move:
      // a killed upstream is a network fault, never a verification failure.
      const last = ts.at(-1);
      assert.ok(last && last.server !== 'A' && last.error === null, `${name}: ${JSON.stringify(ts)}`);
      const lostA = (t: (typeof ts)[number]): boolean =>
        t.server === 'A' && ['ERR_SERVER_LOST', 'ERR_SERVER_UNREACHABLE'].includes(t.error ?? '');
      assert.ok(
        ts.length <= 10 && ts.slice(0, -1).every((t) => lostA(t) || t.error === 'ERR_MOVED'),
        `${name}: ${JSON.stringify(ts)}`,
      );
      assert.equal(r.report?.badSlices ?? 0, 0, `${name} caught no bad slice`);
    }
    // B was on A when A died: its first transfer ended with the loss of A.
    const tb = rb.report?.transfers ?? [];
    assert.deepEqual(tb[0] && [tb[0].server, tb[0].error], ['A', 'ERR_SERVER_LOST']);
  });

  test('a corrupting upstream: the relay forwards the slice as it arrives, both it and its client catch it, both end byte-exact', async () => {
    const l = await lab('relay-corrupt', '127.0.6.23');
    // Slice 56 of 64 (256 KiB each) is corrupted once, 7 s in at 2 MB/s: B streams right behind A
    // by then, so A forwards the bad bytes as they arrive (cut-through) before its own check fails.
    l.startSeeder(
      ['--relay', '--capacity', '1', '--rate', '2MB/s', '--slice', '256KiB', '--end-count', '2'].concat([
        '--fault',
        'corrupt-once:56',
      ]),
    );
    const a = l.startPeer(1, [], 'A');
    await l.waitFor('A on the seeder', (s) => s.transfers.some((t) => t.clientName === 'A'));
    const b = l.startPeer(2, [], 'B');
    await l.waitFor('B on A', onServer('B', ['A']));
    const ra = await l.finish(a);
    const rb = await l.finish(b);
    for (const [name, r] of [
      ['A', ra],
      ['B', rb],
    ] as const) {
      assert.equal(r.exit, 0, `${name} exit`);
      assert.ok(r.exact, `${name} byte-exact`);
    }
    assert.equal(ra.report?.badSlices, 1, 'A caught the corrupt slice from the seeder');
    assert.equal(rb.report?.badSlices, 1, 'B was forwarded the corrupt bytes as they arrived, and caught them');
  });
});
