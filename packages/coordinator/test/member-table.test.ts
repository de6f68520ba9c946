import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ServerSlot } from '../src/members/member.js';
import { MemberTable } from '../src/members/member-table.js';
import { admit, helloOf, StubConnection } from './member-stubs.js';

describe('MemberTable: one record per member', () => {
  test('a hello makes one record holding the connection, and the connection points back at it', () => {
    const t = new MemberTable();
    const conn = new StubConnection('127.0.0.9:5000');
    const m = admit(t, conn, helloOf('p1', 'peer', 'lab'));
    assert.equal(t.get('p1'), m);
    assert.equal(conn.member, m);
    assert.deepEqual([m.name, m.role, m.session, m.remote], ['name-p1', 'peer', 'lab', '127.0.0.9:5000']);
    assert.deepEqual([...t.connected('lab')], [m]);
    assert.deepEqual([...t.connected('other')], []);
  });

  test('a second hello under the same id replaces the first connection; the old one closing changes nothing', () => {
    const t = new MemberTable();
    const first = new StubConnection();
    const second = new StubConnection();
    const m = admit(t, first, helloOf('p1', 'peer', 'lab'));
    assert.equal(admit(t, second, { ...helloOf('p1', 'peer', 'lab'), secret: m.secret }), m, 'the same record');
    assert.ok(first.wasReplaced);
    assert.equal(t.disconnected(first), null);
    assert.equal(m.conn, second);
    assert.equal(t.disconnected(second), m);
    assert.equal(m.conn, null);
  });

  test('a closed member with nothing worth keeping is forgotten; a server keeps its ticket key across reconnects', () => {
    const t = new MemberTable();
    const obs = new StubConnection();
    const o = admit(t, obs, helloOf('o1', 'observer'));
    t.disconnected(obs);
    t.settle(o, 0);
    assert.equal(t.get('o1'), undefined);
    assert.equal(t.name('o1'), 'o1', 'an unknown id is named by its id');

    const c1 = new StubConnection();
    const s = admit(t, c1, helloOf('s1', 'seeder', 'lab'));
    s.serving = new ServerSlot('127.0.0.2', 7771);
    const key = s.serving.key;
    t.disconnected(c1);
    t.settle(s, 0);
    assert.equal(t.get('s1'), s, 'kept: tickets it issued must stay valid');
    assert.equal(
      admit(t, new StubConnection(), { ...helloOf('s1', 'seeder', 'lab'), secret: s.secret }).serving?.key,
      key,
    );
  });

  test('a peer keeps its board line (progress) across a reconnect, shown connected again', () => {
    const t = new MemberTable();
    const c1 = new StubConnection();
    const m = admit(t, c1, helloOf('p1', 'peer', 'lab'));
    Object.assign(m.showOnBoard(1000), { slices: 7 });
    t.disconnected(c1);
    m.view!.connected = false;
    admit(t, new StubConnection(), { ...helloOf('p1', 'peer', 'lab'), secret: m.secret });
    assert.deepEqual([m.view?.slices, m.view?.connected], [7, true]);
  });

  test('bad slices quarantine a server once, when enough slices come from enough distinct clients', () => {
    const slot = new ServerSlot('h', 1);
    const policy = { slices: 3, reporters: 2 };
    assert.deepEqual(slot.reportBadSlices('a', 2, policy), { total: 2, quarantine: false });
    assert.deepEqual(slot.reportBadSlices('a', 9, policy), { total: 11, quarantine: false }, 'one client');
    assert.deepEqual(slot.reportBadSlices('b', 0, policy), { total: 11, quarantine: false }, 'no slices');
    assert.deepEqual(slot.reportBadSlices('b', 1, policy), { total: 12, quarantine: true });
    assert.deepEqual(slot.reportBadSlices('c', 5, policy), { total: 17, quarantine: false }, 'only once');
    assert.equal(slot.quarantined, true);
  });
});
