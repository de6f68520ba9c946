import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Scheduler } from '../src/scheduler/scheduler.js';
import type { Decision } from '../src/scheduler/types.js';

const IMAGE = { imageId: 'a'.repeat(32), size: 1000, name: 'lab.img' };

function assigns(ds: Decision[]): Array<[string, string]> {
  return ds
    .filter((d) => d.kind === 'assign')
    .map((d) => [(d as { client: string }).client, (d as { server: string }).server]);
}

function open(options = {}): Scheduler {
  const s = new Scheduler();
  s.openSession('lab', IMAGE, options, 0);
  return s;
}

describe('Scheduler pairing', () => {
  test('pairs waiting clients in FIFO order with the server at the head', () => {
    const s = open();
    for (const c of ['c1', 'c2', 'c3']) s.enqueueClient('lab', c, 1);
    const out = s.addServer('lab', 'seed', 2, 2);
    assert.deepEqual(assigns(out), [
      ['c1', 'seed'],
      ['c2', 'seed'],
    ]);
    assert.deepEqual(s.getSession('lab')!.clientQueue.toArray(), ['c3']);
  });

  test('never gives a server more clients than its capacity', () => {
    const s = open();
    s.addServer('lab', 'seed', 2, 0);
    for (let i = 0; i < 10; i++) s.enqueueClient('lab', `c${i}`, 1);
    assert.equal(s.getServer('seed')!.clients.size, 2);
    assert.equal(s.getSession('lab')!.clientQueue.size, 8);
    assert.equal(s.getSession('lab')!.serverQueue.size, 0);
  });

  test('a server whose slot frees goes to the tail of the server queue', () => {
    const s = open();
    s.addServer('lab', 'A', 1, 0);
    s.enqueueClient('lab', 'c1', 1); // c1 ← A; A full
    s.addServer('lab', 'B', 1, 2); // B waits in the queue
    s.transferDone('c1', 3); // A frees: goes behind B
    assert.deepEqual(s.getSession('lab')!.serverQueue.toArray(), ['B', 'A']);
    assert.deepEqual(assigns(s.enqueueClient('lab', 'c2', 4)), [['c2', 'B']]);
  });

  test('spreads clients over servers: a server with slots left goes to the tail after each assignment', () => {
    const s = open();
    s.addServer('lab', 'A', 3, 0);
    s.addServer('lab', 'B', 3, 0);
    const out = ['c1', 'c2', 'c3', 'c4'].flatMap((c) => s.enqueueClient('lab', c, 1));
    assert.deepEqual(assigns(out), [
      ['c1', 'A'],
      ['c2', 'B'],
      ['c3', 'A'],
      ['c4', 'B'],
    ]);
  });

  test('a client that lost its server rejoins at the head of the client queue', () => {
    const s = open();
    s.addServer('lab', 'A', 1, 0);
    s.enqueueClient('lab', 'c1', 1); // c1 ← A
    s.enqueueClient('lab', 'c2', 2);
    s.enqueueClient('lab', 'c3', 3);
    s.removeServer('A', 4);
    const out = s.transferFailed('c1', 5);
    assert.equal(assigns(out).length, 0);
    assert.deepEqual(s.getSession('lab')!.clientQueue.toArray(), ['c1', 'c2', 'c3']);
    assert.deepEqual(assigns(s.addServer('lab', 'B', 1, 6)), [['c1', 'B']]);
  });

  test('a failed client avoids the server that failed it while another is free', () => {
    const s = open();
    s.addServer('lab', 'A', 2, 0);
    s.addServer('lab', 'B', 1, 0);
    s.enqueueClient('lab', 'c1', 1); // c1 ← A; queue [B, A]
    s.enqueueClient('lab', 'c2', 1); // c2 ← B; queue [A]
    s.addServer('lab', 'C', 1, 1); // queue [A, C]
    const out = s.transferFailed('c1', 2, { avoidServer: true });
    assert.deepEqual(assigns(out), [['c1', 'C']]);
  });

  test('falls back to an avoided server when it is the only one free', () => {
    const s = open();
    s.addServer('lab', 'A', 1, 0);
    s.enqueueClient('lab', 'c1', 1);
    assert.deepEqual(assigns(s.transferFailed('c1', 2, { avoidServer: true })), [['c1', 'A']]);
  });

  test('a server a client reported bad is never its fallback while the session has another, even busy', () => {
    const s = open();
    s.addServer('lab', 'liar', 1, 0);
    s.enqueueClient('lab', 'c1', 1); // c1 ← liar
    s.addServer('lab', 'seed', 1, 1);
    s.enqueueClient('lab', 'c2', 1); // c2 ← seed (busy from now on)
    assert.deepEqual(assigns(s.transferFailed('c1', 2, { avoidServer: true, distrust: true })), [], 'waits');
    assert.deepEqual(assigns(s.transferDone('c2', 3)), [['c1', 'seed']]);
    const alone = open();
    alone.addServer('lab', 'only', 1, 0);
    alone.enqueueClient('lab', 'c9', 1);
    const again = alone.transferFailed('c9', 2, { avoidServer: true, distrust: true });
    assert.deepEqual(assigns(again), [['c9', 'only']], 'the only server of the session is still tried');
  });

  test('a quarantined server gets no new clients', () => {
    const s = open();
    s.addServer('lab', 'bad', 3, 0);
    s.quarantineServer('bad');
    assert.deepEqual(assigns(s.enqueueClient('lab', 'c1', 1)), []);
    assert.deepEqual(assigns(s.addServer('lab', 'good', 1, 2)), [['c1', 'good']]);
  });

  test('never assigns a client to itself or, in relay mode, to its own downstream', () => {
    const s = open({ relay: true });
    s.addServer('lab', 'seed', 1, 0);
    s.enqueueClient('lab', 'p1', 1); // p1 ← seed
    s.addServer('lab', 'p1', 2, 1, { relay: true });
    s.enqueueClient('lab', 'p2', 2); // p2 ← p1
    s.addServer('lab', 'p2', 2, 2, { relay: true });
    // p1 loses seed and rejoins: p2 (its own child) and p1 itself are not eligible
    s.removeServer('seed', 3);
    const out = s.transferFailed('p1', 4);
    assert.deepEqual(assigns(out), []);
    assert.equal(s.getClient('p1')!.state, 'queued');
  });

  test('counts imaged machines and records the progression', () => {
    const s = open();
    s.addServer('lab', 'seed', 2, 0);
    s.enqueueClient('lab', 'c1', 0);
    s.enqueueClient('lab', 'c2', 0);
    s.transferDone('c1', 10);
    s.transferDone('c2', 20);
    assert.equal(s.getSession('lab')!.imaged, 2);
    assert.deepEqual(s.getSession('lab')!.progression, [
      { at: 10, imaged: 1 },
      { at: 20, imaged: 2 },
    ]);
    assert.equal(s.getServer('seed')!.served, 2);
  });
});

describe('Scheduler session gating', () => {
  test('holds clients until the start count is reached', () => {
    const s = open({ startCount: 3 });
    s.addServer('lab', 'seed', 5, 0);
    assert.deepEqual(assigns(s.enqueueClient('lab', 'c1', 1)), []);
    assert.deepEqual(assigns(s.enqueueClient('lab', 'c2', 2)), []);
    const out = s.enqueueClient('lab', 'c3', 3);
    assert.ok(out.some((d) => d.kind === 'started' && d.reason === 'count'));
    assert.equal(assigns(out).length, 3);
  });

  test('a session that waited starts with its clients in the order their machines joined', () => {
    const s = open({ startCount: 3 });
    s.addServer('lab', 'seed', 1, 0);
    // They joined c1, c2, c3 (hello) but answered the session's opening c3, c1, c2.
    s.enqueueClient('lab', 'c3', 10, { joinedAt: 3 });
    s.enqueueClient('lab', 'c1', 11, { joinedAt: 1 });
    const out = s.enqueueClient('lab', 'c2', 12, { joinedAt: 2 });
    assert.deepEqual(assigns(out), [['c1', 'seed']], 'the first to join is served first');
    assert.deepEqual(s.getSession('lab')!.clientQueue.toArray(), ['c2', 'c3']);
    // Once running, the queue is FIFO by arrival again (a newcomer joins at the back).
    s.enqueueClient('lab', 'c0', 13, { joinedAt: 0 });
    assert.deepEqual(s.getSession('lab')!.clientQueue.toArray(), ['c2', 'c3', 'c0']);
  });

  test('starts on the timer and tells when the timer is due', () => {
    const s = open({ startAfterMs: 60_000 });
    s.addServer('lab', 'seed', 2, 0);
    s.enqueueClient('lab', 'c1', 1);
    assert.equal(s.nextDeadline(), 60_000);
    assert.deepEqual(s.tick(59_999), []);
    const out = s.tick(60_000);
    assert.ok(out.some((d) => d.kind === 'started' && d.reason === 'timer'));
    assert.deepEqual(assigns(out), [['c1', 'seed']]);
  });

  test('a manual session starts only on the operator', () => {
    const s = open({ startManual: true, startCount: 1 });
    s.addServer('lab', 'seed', 2, 0);
    s.enqueueClient('lab', 'c1', 1);
    assert.deepEqual(s.tick(10 ** 9), []);
    const out = s.startSession('lab', 5);
    assert.ok(out.some((d) => d.kind === 'started' && d.reason === 'operator'));
    assert.deepEqual(assigns(out), [['c1', 'seed']]);
  });

  test('gating changed while waiting takes effect at once', () => {
    const s = open({ startCount: 10 });
    s.addServer('lab', 'seed', 2, 0);
    s.enqueueClient('lab', 'c1', 1);
    s.enqueueClient('lab', 'c2', 1);
    const out = s.setOptions('lab', { startCount: 2 }, 2);
    assert.ok(out.some((d) => d.kind === 'started'));
    assert.equal(assigns(out).length, 2);
  });

  test('ends when the end count is imaged', () => {
    const s = open({ endCount: 2 });
    s.addServer('lab', 'seed', 2, 0);
    s.enqueueClient('lab', 'c1', 0);
    s.enqueueClient('lab', 'c2', 0);
    assert.deepEqual(
      s.transferDone('c1', 5).filter((d) => d.kind === 'ended'),
      [],
    );
    const out = s.transferDone('c2', 6);
    assert.deepEqual(out, [{ kind: 'ended', session: 'lab', reason: 'end-count', at: 6 }]);
    assert.equal(s.getSession('lab')!.state, 'ended');
  });

  test('ends after linger with nobody waiting and nothing transferring', () => {
    const s = open({ lingerMs: 1000 });
    s.addServer('lab', 'seed', 1, 0);
    s.enqueueClient('lab', 'c1', 0);
    assert.deepEqual(s.tick(5000), []); // transferring: not idle
    s.transferDone('c1', 6000);
    assert.equal(s.nextDeadline(), 7000);
    assert.deepEqual(s.tick(6999), []);
    assert.deepEqual(s.tick(7000), [{ kind: 'ended', session: 'lab', reason: 'linger', at: 7000 }]);
  });

  test('clients may wait for a session that is not open yet', () => {
    const s = new Scheduler();
    s.enqueueClient('later', 'c1', 0);
    assert.equal(s.getSession('later')!.state, 'pending');
    s.openSession('later', IMAGE, {}, 1);
    assert.deepEqual(assigns(s.addServer('later', 'seed', 1, 2)), [['c1', 'seed']]);
  });

  test('an imaged peer re-announcing to a fresh scheduler is counted once', () => {
    const s = open({ endCount: 5 });
    s.transferDone('p1', 1, 'lab');
    s.transferDone('p1', 2, 'lab');
    assert.equal(s.getSession('lab')!.imaged, 1);
  });

  test('a transfer re-announced after a restart takes its server slot without a new assignment', () => {
    const s = open();
    s.addServer('lab', 'A', 1, 0);
    const out = s.resumeTransfer('lab', 'c1', 'A', 1);
    assert.deepEqual(assigns(out), []);
    assert.equal(s.getServer('A')!.clients.size, 1);
    assert.deepEqual(assigns(s.enqueueClient('lab', 'c2', 2)), []);
  });

  test('a transfer re-announced before its server holds the slot once the server re-announces', () => {
    const s = open();
    assert.deepEqual(assigns(s.resumeTransfer('lab', 'c1', 'A', 1)), []);
    assert.equal(s.getClient('c1')!.state, 'transferring');
    assert.equal(s.getSession('lab')!.clientQueue.size, 0, 'not queued for a second server');
    s.enqueueClient('lab', 'c2', 2);
    assert.deepEqual(assigns(s.addServer('lab', 'A', 2, 3)), [['c2', 'A']]);
    assert.equal(s.getServer('A')!.clients.size, 2);
    assert.deepEqual(assigns(s.enqueueClient('lab', 'c3', 4)), [], 'A is full: c1 and c2');
  });

  test('a re-announced transfer whose server never returns goes to the head of the queue on failure', () => {
    const s = open();
    s.resumeTransfer('lab', 'c1', 'gone', 1);
    s.enqueueClient('lab', 'c2', 2);
    s.transferFailed('c1', 3, { avoidServer: true });
    assert.deepEqual(s.getSession('lab')!.clientQueue.toArray(), ['c1', 'c2']);
  });
});

describe('Scheduler in relay mode', () => {
  test('a relay that lost its server is paired with a free server however far back it waits', () => {
    const s = new Scheduler();
    s.openSession('lab', IMAGE, { relay: true }, 0);
    s.addServer('lab', 'X', 1, 0);
    s.enqueueClient('lab', 'A', 0); // A ← X, and A relays to B1..B70
    s.addServer('lab', 'A', 70, 0, { relay: true });
    for (let i = 1; i <= 70; i++) s.enqueueClient('lab', `B${i}`, 0);
    for (let i = 1; i <= 70; i++) s.addServer('lab', `B${i}`, 1, 0, { relay: true });
    s.addServer('lab', 'seeder', 1, 0); // a free slot behind 70 relays that are downstream of A
    s.removeServer('X', 1);
    assert.deepEqual(assigns(s.transferFailed('A', 1)), [['A', 'seeder']]);
  });

  test('a relay that rejoins is not served by a client still recorded as streaming from it after it left the server queue', () => {
    const s = new Scheduler();
    s.openSession('lab', IMAGE, { relay: true }, 0);
    s.addServer('lab', 'seed', 1, 0);
    s.enqueueClient('lab', 'p1', 0); // p1 ← seed
    s.addServer('lab', 'p1', 1, 0, { relay: true });
    s.enqueueClient('lab', 'p2', 0); // p2 ← p1
    s.addServer('lab', 'p2', 1, 0, { relay: true });
    // p1's server entry goes (its clients' transfers stay recorded), then p1 loses its own server.
    s.removeServer('p1', 1);
    s.removeServer('seed', 1);
    assert.deepEqual(assigns(s.transferFailed('p1', 2)), []);
    assert.equal(s.getClient('p2')!.server, 'p1');
  });

  test('a re-announced transfer from a server not yet back counts as downstream of it', () => {
    const s = new Scheduler();
    s.openSession('lab', IMAGE, { relay: true }, 0);
    s.resumeTransfer('lab', 'p2', 'p1', 0); // a restarted coordinator: p2 streams from p1, not registered yet
    s.addServer('lab', 'p2', 1, 0, { relay: true });
    assert.deepEqual(assigns(s.enqueueClient('lab', 'p1', 1)), []);
    assert.deepEqual(assigns(s.addServer('lab', 'seed', 1, 2)), [['p1', 'seed']]);
  });

  test('a relay chain of 20,000 pairs every client, each with the relay before it', () => {
    const s = new Scheduler();
    s.openSession('lab', IMAGE, { relay: true }, 0);
    const n = 20_000;
    for (let i = 1; i <= n; i++) s.enqueueClient('lab', `p${i}`, 0);
    const pending = s.addServer('lab', 'seed', 1, 0);
    let paired = 0;
    while (pending.length > 0) {
      const d = pending.shift() as Decision;
      if (d.kind !== 'assign') continue;
      assert.equal(d.server, paired === 0 ? 'seed' : `p${paired}`);
      paired++;
      pending.push(...s.addServer('lab', d.client, 1, 0, { relay: true }));
    }
    assert.equal(paired, n);
  });
});
