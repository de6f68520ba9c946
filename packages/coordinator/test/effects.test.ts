import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { silentLogger, verifyTicket } from '@cascade/common';
import { CoordinatorState } from '../src/coordinator-state.js';
import { ServerSlot } from '../src/members/member.js';
import { admit, helloOf, manifestOf, StubConnection } from './member-stubs.js';

/** Effects over a real (pure) scheduler and member table, with stub connections: no sockets. */
function lab() {
  const state = new CoordinatorState({ log: silentLogger(), now: () => 0, processMetrics: false });
  const { scheduler, members, sessions, metrics, warnings, effects } = state;
  const manifest = manifestOf('img-1', 4);
  const seederConn = new StubConnection();
  const seeder = admit(members, seederConn, helloOf('seed', 'seeder', 'lab'));
  seeder.opened = { name: 'lab', manifest, openedBy: 'seed' };
  sessions.set('lab', seeder.opened);
  effects.apply(scheduler.openSession('lab', { imageId: 'img-1', size: manifest.size, name: 'img' }, {}, 0));
  seeder.serving = new ServerSlot('127.0.0.5', 7771);
  effects.apply(scheduler.addServer('lab', 'seed', 1, 0));
  const peer = (id: string) => {
    const conn = new StubConnection();
    const m = admit(members, conn, helloOf(id, 'peer', 'lab'));
    m.showOnBoard(0);
    return { conn, m };
  };
  return { state, scheduler, members, metrics, warnings, effects, seeder, seederConn, peer };
}

describe('Effects: decisions become messages, board updates, metrics and warnings', () => {
  test('an assignment sends the client its server and a ticket signed with that server key', async () => {
    const l = lab();
    const { conn, m } = l.peer('p1');
    l.effects.apply(l.scheduler.enqueueClient('lab', 'p1', 10));
    const [assign] = conn.of('assign');
    assert.deepEqual(assign?.server, { id: 'seed', name: 'name-seed', host: '127.0.0.5', port: 7771 });
    const claims = verifyTicket(assign.ticket, l.seeder.serving!.key, {
      ...{ server: 'seed', imageId: 'img-1', session: 'lab', now: 20 },
    });
    assert.equal(claims.client, 'p1');
    assert.deepEqual(
      [m.assignment?.server, m.assignment?.at, l.scheduler.getClient('p1')?.server],
      ['seed', 10, 'seed'],
    );
    assert.match(await l.metrics.text(), /cascade_transfers_total\{session="lab",outcome="assigned"\} 1/);
  });

  test('a client queued behind a busy server is told its position', () => {
    const l = lab();
    l.peer('p1');
    const { conn } = l.peer('p2');
    l.effects.apply(l.scheduler.enqueueClient('lab', 'p1', 10));
    l.effects.apply(l.scheduler.enqueueClient('lab', 'p2', 11));
    assert.deepEqual(conn.of('queued'), [{ type: 'queued', position: 0 }]);
  });

  test('an assignment to a client whose connection is gone is undone: it leaves the queues', () => {
    const l = lab();
    const { conn } = l.peer('p1');
    l.members.disconnected(conn);
    l.effects.apply(l.scheduler.enqueueClient('lab', 'p1', 10));
    assert.equal(l.scheduler.getClient('p1'), undefined);
    assert.equal(l.scheduler.getServer('seed')?.clients.size, 0, 'the slot is free again');
  });

  test('progress credits the serving server on the board and in the metrics', async () => {
    const l = lab();
    const { m } = l.peer('p1');
    l.effects.apply(l.scheduler.enqueueClient('lab', 'p1', 10));
    l.effects.progressed(m, 2, 131072, 1e6, 20); // the seeder is not on the board yet: nothing to credit
    const board = l.seeder.showOnBoard(0);
    l.effects.progressed(m, 3, 196608, 1e6, 30);
    l.effects.progressed(m, 4, 262144, 1e6, 40);
    assert.equal(board.bytesServed, 131072);
    assert.match(await l.metrics.text(), /cascade_bytes_received_total\{session="lab"\} 262144/);
  });

  test("peers' wire and payload totals add up per session: status shows sizes, traffic and the ratio", async () => {
    const l = lab();
    const { m: p1 } = l.peer('p1');
    const { m: p2 } = l.peer('p2');
    l.effects.apply(l.scheduler.enqueueClient('lab', 'p1', 10));
    l.effects.progressed(p1, 1, 65536, 1e6, 20, { wire: 10_000, payload: 40_000 });
    l.effects.progressed(p1, 2, 131072, 1e6, 30, { wire: 20_000, payload: 80_000 });
    l.effects.progressed(p1, 2, 131072, 1e6, 31, { wire: 20_000, payload: 80_000 }); // a repeat counts nothing
    l.effects.progressed(p2, 0, 0, 0, 32, { wire: 5_000 }); // an older total without payload
    l.effects.progressed(p2, 0, 0, 0, 33); // an older peer: no totals at all
    const bytes = l.state.status('lab').sessions[0]?.bytes;
    const size = 4 * 65536;
    assert.deepEqual(bytes, { image: size, used: size, wireEstimate: null, wire: 25_000, payload: 80_000, ratio: 3.2 });
    const text = await l.metrics.text();
    assert.match(text, /cascade_session_wire_bytes_total\{session="lab"\} 25000/);
    assert.match(text, /cascade_session_payload_bytes_total\{session="lab"\} 80000/);
    assert.match(text, /cascade_session_image_bytes\{session="lab"\} 262144/);
    assert.match(text, /cascade_session_compression_ratio\{session="lab"\} 3.2/);
  });

  test('a lost server is a warning and a metric; a session end reaches every connected member of it', async () => {
    const l = lab();
    const { conn } = l.peer('p1');
    l.effects.serverGone(l.seeder, 50, { lost: true });
    assert.equal(l.scheduler.getServer('seed'), undefined);
    assert.deepEqual(
      l.warnings.list().map((w) => w.event),
      ['server-lost'],
    );
    assert.match(await l.metrics.text(), /cascade_servers_lost_total\{session="lab"\} 1/);
    l.effects.apply(l.scheduler.endSession('lab', 60, 'operator'));
    assert.deepEqual(conn.of('session-ended'), [{ type: 'session-ended', session: 'lab', reason: 'operator' }]);
    assert.equal(l.seederConn.of('session-ended').length, 1);
  });

  test('a clean end: servers of the ended session going away (closed or left) are no warning', async () => {
    const l = lab();
    const { m } = l.peer('p1');
    m.serving = new ServerSlot('127.0.0.6', 7771);
    l.effects.apply(l.scheduler.addServer('lab', 'p1', 3, 5));
    l.effects.apply(l.scheduler.endSession('lab', 60, 'end-count'));
    l.effects.serverGone(m, 61, { lost: false, reason: 'end-count' });
    l.effects.serverGone(l.seeder, 62, { lost: true });
    assert.deepEqual(l.warnings.list(), []);
    assert.doesNotMatch(await l.metrics.text(), /cascade_servers_lost_total\{session="lab"\} [1-9]/);
  });

  test("status of one session carries that session's warnings only", () => {
    const l = lab();
    l.effects.warn(1, 'lab', 'transfer-failed', 'p1 from seed: stalled');
    l.effects.warn(2, 'other', 'server-lost', 'x disconnected');
    l.effects.serverGone(l.seeder, 3, { lost: true });
    const events = (session?: string) => l.state.status(session).warnings.map((w) => `${w.session}:${w.event}`);
    assert.deepEqual(events('lab'), ['lab:transfer-failed', 'lab:server-lost']);
    assert.deepEqual(events('other'), ['other:server-lost']);
    assert.equal(events().length, 3, 'all of them without --session');
  });

  test('bad slices are a client claim on the board; two clients reporting three in all quarantine the server', () => {
    const l = lab();
    const p1 = l.peer('p1').m;
    const p2 = l.peer('p2').m;
    const claim = (m: typeof p1) => ({ reportedBy: m.name, code: 'ERR_SLICE_DIGEST_MISMATCH' });
    l.effects.badSlices({ client: p1, server: 'seed', count: 2, session: 'lab', claim: claim(p1) }, 10);
    l.effects.badSlices({ client: p1, server: 'seed', count: 5, session: 'lab', claim: claim(p1) }, 11);
    assert.equal(l.scheduler.getServer('seed')?.quarantined, false, 'one client alone never quarantines');
    l.effects.badSlices({ client: p2, server: 'seed', count: 1, session: 'lab', claim: claim(p2) }, 12);
    assert.deepEqual(
      l.warnings.list().map((w) => [w.event, w.reportedBy, w.code]),
      [
        ['bad-slices', 'name-p1', 'ERR_SLICE_DIGEST_MISMATCH'],
        ['bad-slices', 'name-p1', 'ERR_SLICE_DIGEST_MISMATCH'],
        ['bad-slices', 'name-p2', 'ERR_SLICE_DIGEST_MISMATCH'],
        ['quarantined', undefined, undefined],
      ],
    );
    assert.equal(l.scheduler.getServer('seed')?.quarantined, true);
    assert.equal(l.seeder.serving?.quarantined, true, 'kept on the slot, by id, across reconnects');
  });
});
