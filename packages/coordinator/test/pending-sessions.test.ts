import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { HandlerLab } from './handler-stubs.js';
import type { StubConnection } from './member-stubs.js';

const IMAGE = { imageId: 'a'.repeat(32), size: 1000, name: 'lab.img' };
const MIN = 60_000;

describe('Scheduler pending sessions (issue 16, finding 9)', () => {
  test('one address may create at most 64 pending sessions; the 65th want is refused with ERR_TOO_MANY_SESSIONS', () => {
    const s = new Scheduler();
    for (let i = 0; i < 64; i++)
      assert.equal(s.enqueueClient(`p-${i}`, `c-${i}`, 0, { address: '10.0.0.9' })[0]?.kind, 'queued');
    const refused = s.enqueueClient('p-64', 'c-64', 0, { address: '10.0.0.9' });
    assert.deepEqual(
      refused.map((d) => [d.kind, (d as { code?: string }).code]),
      [['refused', 'ERR_TOO_MANY_SESSIONS']],
    );
    assert.equal(s.getSession('p-64'), undefined, 'a refused want created nothing');
    assert.equal(s.getClient('c-64'), undefined);
    assert.equal(
      s.enqueueClient('p-64', 'c-64', 0, { address: '10.0.0.10' })[0]?.kind,
      'queued',
      'another address may',
    );
    assert.equal(
      s.enqueueClient('p-3', 'c-x', 0, { address: '10.0.0.9' })[0]?.kind,
      'queued',
      'an existing one is joined',
    );
  });

  test('at most 1024 pending sessions in total, whatever the addresses', () => {
    const s = new Scheduler();
    for (let i = 0; i < 1024; i++) s.enqueueClient(`p-${i}`, `c-${i}`, 0, { address: `10.1.${i >> 6}.${i & 63}` });
    assert.equal(s.enqueueClient('one-more', 'c', 0, { address: '10.9.9.9' })[0]?.kind, 'refused');
    assert.equal(s.transferDone('d', 0, 'another', '10.9.9.8')[0]?.kind, 'refused', 'done under a new name too');
    assert.equal(s.resumeTransfer('third', 'r', 'srv', 0, '10.9.9.7')[0]?.kind, 'refused', 'and a re-announce');
  });

  test('a pending session empty for 10 minutes is dropped and frees its address slot; one with a waiting client stays', () => {
    const s = new Scheduler({ pending: { perAddress: 1 } });
    s.enqueueClient('gone', 'c1', 0, { address: 'A' });
    s.removeClient('c1', 1000);
    s.enqueueClient('kept', 'c2', 0, { address: 'B' });
    s.tick(1000);
    s.tick(5 * MIN);
    assert.ok(s.getSession('gone'), 'dropped too early');
    assert.equal(s.enqueueClient('again', 'c3', 5 * MIN, { address: 'A' })[0]?.kind, 'refused');
    s.tick(10 * MIN + 1000);
    assert.equal(s.getSession('gone'), undefined, 'an empty pending session outlived 10 minutes');
    assert.ok(s.getSession('kept'), 'a session with a waiting client was dropped');
    assert.equal(s.enqueueClient('again', 'c3', 10 * MIN + 2000, { address: 'A' })[0]?.kind, 'queued');
  });

  test('an opened session is no longer pending: it never expires and stops counting against the caps', () => {
    const s = new Scheduler({ pending: { perAddress: 1 } });
    s.enqueueClient('lab', 'c1', 0, { address: 'A' });
    s.openSession('lab', IMAGE, { startManual: true }, 1);
    assert.equal(s.enqueueClient('other', 'c2', 2, { address: 'A' })[0]?.kind, 'queued');
    s.removeClient('c1', 3);
    s.tick(4);
    s.tick(60 * MIN);
    assert.equal(s.getSession('lab')?.state, 'waiting');
  });
});

describe('the coordinator passes the member address to the pending-sessions caps (issue 16, finding 9)', () => {
  test('the 65th new session name wanted from one address is answered error ERR_TOO_MANY_SESSIONS', () => {
    const lab = new HandlerLab();
    const want = (session: string, remote: string): StubConnection => {
      const conn = lab.hello(
        { role: 'peer', id: `squat-${session}-${remote}`, name: `squat-${session}`, session },
        remote,
      );
      lab.send(conn, { type: 'want', have: 0 });
      return conn;
    };
    for (let i = 0; i < 64; i++) assert.equal(want(`junk-${i}`, '10.0.0.9:4000').of('queued').length, 1);
    const refused = want('junk-64', '10.0.0.9:4001');
    assert.equal(refused.of('queued').length, 0);
    assert.deepEqual(
      refused.of('error').map((e) => e.code),
      ['ERR_TOO_MANY_SESSIONS'],
    );
    assert.equal(lab.scheduler.getSession('junk-64'), undefined, 'a refused want created nothing');
    assert.equal(want('junk-64', '10.0.0.10:4000').of('queued').length, 1, 'another address may');
    const reannounce = lab.hello({ role: 'peer', id: 'r', name: 'r', session: 'junk-65' }, '10.0.0.9:4002');
    lab.send(reannounce, { type: 'want', have: 1, activeServer: 'srv' });
    assert.deepEqual(
      reannounce.of('error').map((e) => e.code),
      ['ERR_TOO_MANY_SESSIONS'],
      'a re-announced transfer is held to the same cap',
    );
  });
});
