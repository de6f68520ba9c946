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
    // The session starts once all three wait, at 2 MB/s: the head needs 8 s, so for seconds a relay
    // streams to a client, whatever the join order and however slowly the peers start. Which peer
    // is that relay is the scheduler's choice: the test kills whichever it is.
    l.startSeeder(
      ['--relay', '--capacity', '1', '--rate', '2MB/s', '--slice', '256KiB'].concat([
        '--start-count',
        '3',
        '--end-count',
        '2',
      ]),
    );
    const names = ['A', 'B', 'C'];
    const peers = new Map(names.map((name, i) => [name, l.startPeer(i + 1, ['--stall', '10s'], name)]));
    const chain = await l.waitFor('a relay streaming to a client, an eighth in', (s) =>
      s.transfers.some((t) => t.serverName !== 'seeder' && t.bytes >= SIZE / 8),
    );
    const relayed = chain.transfers.find((t) => t.serverName !== 'seeder' && t.bytes >= SIZE / 8)!;
    const killed = relayed.serverName;
    peers.get(killed)!.proc.kill('SIGKILL');
    for (const name of names.filter((x) => x !== killed)) {
      const p = peers.get(name)!;
      const r = await l.finish(p);
      assert.equal(r.exit, 0, `${p.name} exit (see ${p.logFile})`);
      assert.ok(r.exact, `${p.name} byte-exact`);
      assert.ok((r.report?.bytesReceived ?? Infinity) <= SIZE, `${p.name} fetched no slice twice`);
      const ts = r.report?.transfers ?? [];
      // It finished from a live server (never the killed relay), and every earlier transfer ended
      // by the kill (at once, or a quick retry before the coordinator saw it go) or by a move: a
      // killed upstream is a network fault, never a verification failure.
      const last = ts.at(-1);
      assert.ok(last && last.server !== killed && last.error === null, `${p.name}: ${JSON.stringify(ts)}`);
      const lost = (t: (typeof ts)[number]): boolean =>
        t.server === killed && ['ERR_SERVER_LOST', 'ERR_SERVER_UNREACHABLE'].includes(t.error ?? '');
      assert.ok(
        ts.length <= 10 && ts.slice(0, -1).every((t) => lost(t) || t.error === 'ERR_MOVED'),
        `${p.name}: ${JSON.stringify(ts)}`,
      );
      assert.equal(r.report?.badSlices ?? 0, 0, `${p.name} caught no bad slice`);
    }
    // The relay's client was streaming from it when it died: that transfer ended (lost, or moved
    // just before), and the client still finished byte-exact above.
    const client = await l.finish(peers.get(relayed.clientName)!);
    assert.ok(
      (client.report?.transfers ?? []).some((t) => t.server === killed && t.error !== null),
      JSON.stringify(client.report?.transfers),
    );
  });

  test('a corrupting upstream: the corrupt slice is caught (by the relay and, cut-through, by its client), both end byte-exact', async () => {
    const l = await lab('relay-corrupt', '127.0.6.23');
    // Slice 56 of 64 (256 KiB each) is corrupted once, 7 s in at 2 MB/s. The session starts once
    // both wait, so the second streams right behind the first whatever the load: the relay
    // forwards the bad bytes as they arrive (cut-through) before its own check fails, and both
    // catch them; on a slow run the client may instead get the slice after the relay re-fetched it.
    l.startSeeder(
      ['--relay', '--capacity', '1', '--rate', '2MB/s', '--slice', '256KiB']
        .concat(['--start-count', '2', '--end-count', '2'])
        .concat(['--fault', 'corrupt-once:56']),
    );
    const a = l.startPeer(1, [], 'A');
    const b = l.startPeer(2, [], 'B');
    const ra = await l.finish(a);
    const rb = await l.finish(b);
    for (const [name, r] of [
      ['A', ra],
      ['B', rb],
    ] as const) {
      assert.equal(r.exit, 0, `${name} exit`);
      assert.ok(r.exact, `${name} byte-exact`);
      assert.ok((r.report?.badSlices ?? 0) <= 1, `${name}: one slice was corrupted, once`);
    }
    const caught = (ra.report?.badSlices ?? 0) + (rb.report?.badSlices ?? 0);
    assert.ok(caught >= 1, 'the corrupt slice was caught, never written');
    process.stdout.write(`# relay-corrupt: ${JSON.stringify({ A: ra.report?.badSlices, B: rb.report?.badSlices })}\n`);
  });
});
