/**
 * Issue 29, finding 4: slow clients hold server slots. Two ids queue ahead of the lab, take both
 * of the seeder's slots and send one GET a minute. Real coordinator, seeder and peers on loopback.
 *
 * Behaviour demanded: a full server drops a client below its rate floor (32 KiB/s over a 20 s
 * window, client-floor.ts) with ERR_CLIENT_TOO_SLOW and tells the coordinator, which gives the
 * slot to the next client in its queue: the hogs are dropped within the window (plus a check
 * period) and every honest peer is imaged.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HostileLab } from './hostile/hostile-lab.js';
import { hogSlot, type SlotHog } from './hostile/slot-hog.js';

const ATTACKER = '127.0.129.201';
/** The servers' rate-floor window (CLIENT_FLOOR_DEFAULTS.windowMs; a literal so that this test runs on older code). */
const WINDOW_MS = 20_000;

describe('hostile slot hogs (issue 29: finding 4)', { timeout: 120_000 }, () => {
  test('#4 two clients that take both seeder slots and send one GET a minute are dropped; the lab is imaged', async (t) => {
    const lab = await HostileLab.create('hostile-hog', { coordinatorHost: '127.0.129.3' });
    lab.seeder(['--capacity', '2', '--end-count', '3']);
    await lab.seederId();
    const hogs: SlotHog[] = [];
    t.after(() => hogs.forEach((h) => h.stop()));
    for (const id of ['hog-1', 'hog-2']) hogs.push(await hogSlot(lab, id, ATTACKER, 60_000));
    assert.ok(
      hogs.every((h) => h.welcomedAt !== null),
      'both hogs hold a seeder slot',
    );
    const peers = [1, 2, 3].map((i) => lab.peer(i));
    await lab.allExact(peers, 50_000);
    for (const h of hogs) {
      assert.equal(h.code, 'ERR_CLIENT_TOO_SLOW', 'the hog was dropped by the rate floor');
      const held = h.closedAt! - h.welcomedAt!;
      assert.ok(held <= WINDOW_MS * 1.25 + 3000, `a hog held its slot ${held} ms (window ${WINDOW_MS} ms)`);
    }
  });
});
