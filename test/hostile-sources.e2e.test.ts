/**
 * Issue 29, finding 1: fake complete sources (Sybils). Every 0.5 s a fresh id says hello, `want`
 * with every slice, `done` and `serve` (capacity 1024), and its data server corrupts every slice.
 * Real coordinator, seeder and peers on loopback; the attacker is the hostile client library.
 *
 * Behaviour demanded: no server-by-claim. Announced holdings never make a member a source, so no
 * honest peer is ever sent to a fake, and every honest peer is imaged byte-exact.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hostileServerFor } from './hostile/attacker.js';
import { helloAs, type HostileControl } from './hostile/hostile-control.js';
import { HostileLab } from './hostile/hostile-lab.js';
import type { SessionStatus } from '@cascade/coordinator';

const ATTACKER = '127.0.129.200';

/** Fresh ids claiming the whole image and serving from `port`, one every `everyMs` until `stop()`. */
function sybilStream(lab: HostileLab, port: number, everyMs: number, max: number): { stop: () => void; ids: number } {
  const fakes: HostileControl[] = [];
  const state = { stop: () => undefined as void, ids: 0 };
  let stopped = false;
  const one = async (n: number): Promise<void> => {
    const id = `sybil-${n}`;
    const auth = lab.token ? { token: lab.token } : {};
    const [c, w] = await helloAs(lab.url, { role: 'peer', id, name: id, session: lab.session, ...auth }, ATTACKER);
    fakes.push(c);
    if (w?.type !== 'welcome') return;
    const session = await c.next((m) => m.type === 'session', 10_000).catch(() => null);
    const slices = (session?.manifest as { digests?: unknown[] } | undefined)?.digests?.length ?? 1_000_000;
    c.send({ type: 'want', have: slices });
    c.send({ type: 'done', server: 'reused', bytes: 0, ms: 0 });
    c.send({ type: 'serve', host: ATTACKER, port, capacity: 1024 });
    await c.sync().catch(() => null);
  };
  const timer = setInterval(() => {
    if (stopped || state.ids >= max) return;
    void one(++state.ids).catch(() => undefined);
  }, everyMs);
  state.stop = () => {
    stopped = true;
    clearInterval(timer);
    fakes.forEach((c) => c.close());
  };
  return state;
}

describe('hostile sources (issue 29: finding 1)', { timeout: 120_000 }, () => {
  for (const withToken of [false, true]) {
    const tag = withToken ? 'with a token' : 'without a token';
    test(`#1 ${tag}: a stream of fake complete sources is never assigned; every honest peer is imaged`, async (t) => {
      const lab = await HostileLab.create(`hostile-sybil-${withToken}`, {
        coordinatorHost: withToken ? '127.0.129.2' : '127.0.129.1',
        token: withToken,
      });
      // One slow seeder slot: while it is busy, the fakes are the only servers that claim the image.
      // No --end-count: the fakes' claimed dones may be counted (issue 29, finding 6, elsewhere).
      const seeder = lab.seeder(['--capacity', '1', '--rate', '3MB/s']);
      await lab.seederId();
      const bad = await hostileServerFor(lab, ATTACKER, 256 * 1024, { byteIntervalMs: 0, corrupt: true });
      t.after(() => bad.close());
      const sybils = sybilStream(lab, bad.port, 500, 40);
      t.after(() => sybils.stop());
      await lab.waitFor('a fake id said hello', () => sybils.ids >= 3, 10_000);
      const peers = [1, 2, 3].map((i) => lab.peer(i));
      const honest = new Set([1, 2, 3].map((i) => `peer-${i}`)); // their --name
      // An imaged peer serves: each honest one on the server list means it holds the image.
      const serving = (s: SessionStatus): number => s.servers.filter((x) => honest.has(x.name)).length;
      await lab.waitFor('the honest peers imaged', (x) => serving(x) === 3, 60_000);
      sybils.stop();
      assert.equal(bad.hellos.length, 0, `honest peers were sent to a fake source ${bad.hellos.length} times`);
      seeder.proc.kill('SIGTERM'); // the session ends: the imaged peers exit 0
      await lab.allExact(peers, 30_000);
    });
  }
});
