import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { exitWithin, writeImage } from '@cascade/cli';
import { FaultLab } from './fault-lab.js';
import { runCascade, tempDir } from './helpers.js';

// A coordinator SIGKILLed mid-transfer and restarted on the same port changes nothing: the
// session keeps running (however it was gated), nobody starts over, every machine is imaged
// byte-exact, and the session still ends by itself at --end-count, counting machines imaged
// before the restart. Real processes on loopback; every server is rate-capped so the kill lands
// mid-transfer.

const MiB = 1024 * 1024;
const SIZE = 16 * MiB;
const PEERS = 4;

interface Gate {
  name: string;
  host: string;
  /** The seeder's gating flags. */
  args: string[];
  /** The operator's part once every peer waits (`cascade start` for a manual session). */
  open: (l: FaultLab) => Promise<void>;
}

const gates: Gate[] = [
  { name: 'an ungated session', host: '127.0.6.2', args: [], open: async () => undefined },
  {
    name: `a gated session (--start-count ${PEERS})`,
    host: '127.0.41.1',
    args: ['--start-count', String(PEERS)],
    open: async () => undefined,
  },
  {
    name: 'a manual session started by cascade start',
    host: '127.0.41.2',
    args: ['--start', 'manual'],
    open: async (l) => {
      await l.waitFor(`${PEERS} peers waiting`, (s) => s.waiting.length === PEERS);
      const r = await runCascade(['start', l.session, '--coordinator', l.url]);
      assert.equal(r.code, 0, `cascade start: ${r.stderr}`);
    },
  },
];

describe('a coordinator restart changes nothing (real processes on loopback)', () => {
  for (const gate of gates) {
    test(`${gate.name}: SIGKILL the coordinator mid-transfer, restart it on the same port; the session runs on and ends by itself`, async () => {
      const dir = await tempDir('kill-coordinator');
      const image = join(dir, 'master.img');
      await writeImage(image, { size: SIZE, seed: gate.host, zeros: [] });
      const l = new FaultLab(dir, image, SIZE, 'lab', gate.host);
      await l.startCoordinator(['--ping-interval', '1s']);
      const t0 = Date.now();
      const seedArgs = ['--capacity', '2', '--rate', '3MB/s', '--slice', '256KiB', '--end-count', String(PEERS)];
      const seeder = l.startSeeder([...seedArgs, ...gate.args]);
      const peers = Array.from({ length: PEERS }, (_, i) => l.startPeer(i + 1, ['--capacity', '2', '--rate', '3MB/s']));
      await gate.open(l);
      await l.waitFor('two transfers 3 MiB in', (s) => s.transfers.filter((t) => t.bytes >= 3 * MiB).length >= 2);
      l.coordinator.proc.kill('SIGKILL');
      const killedAt = Date.now();
      await exitWithin(l.coordinator, 5000); // its sockets are closed: the peers see it gone
      await l.startCoordinator(['--ping-interval', '1s']);
      const restartedAt = Date.now();
      let spanned = 0;
      for (const p of peers) {
        const r = await l.finish(p);
        assert.equal(r.exit, 0, `${p.name} exit (see ${p.logFile})`);
        assert.ok(r.exact, `${p.name} target is byte-exact`);
        const received = r.report?.bytesReceived ?? -1;
        assert.ok(received <= SIZE, `${p.name} fetched no slice twice (${received} bytes)`);
        const t = r.report?.transfers ?? [];
        if (t.some((x) => x.error === null && x.startedAt < killedAt && x.startedAt + x.ms > restartedAt)) spanned++;
      }
      assert.ok(spanned >= 1, 'a transfer in flight when the coordinator died carried on through the restart');
      assert.equal(await exitWithin(seeder, 15_000), 0, 'the seeder ends with the session');
      const final = await l.status();
      assert.equal(final?.state, 'ended', 'the session ended by itself');
      assert.equal(final?.endReason, 'end-count', 'it ended at --end-count');
      assert.equal(final?.imaged, PEERS, 'the restarted coordinator counted every machine');
      const seconds = (Date.now() - t0) / 1000;
      process.stdout.write(`# kill-coordinator ${gate.name}: ${JSON.stringify({ seconds, spanned })}\n`);
    });
  }
});
