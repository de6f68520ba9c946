import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { statusSnapshotSchema } from '@cascade/common';
import { pruneSessions } from '../src/sessions/retention.js';
import { StateHarness } from './state-harness.js';

const machine = (ip: string, mac: string) => ({ ips: [ip], macs: [mac] });

describe('every machine identifiable: unique names, the address seen, the MAC', () => {
  test('machines sharing a hostname get their address in their name, everywhere the name shows', () => {
    const h = new StateHarness();
    h.seeder('seed', 'lab', { ip: '10.0.3.1', host: '10.0.3.1', capacity: 1 });
    const a = h.peer('a', 'lab', { ip: '10.0.3.11', name: 'vm', machine: machine('10.0.3.11', 'AA:BB:CC:00:00:11') });
    assert.equal(a.m.name, 'vm', 'unique so far: the hostname itself');
    const b = h.peer('b', 'lab', { ip: '10.0.3.12', name: 'vm', machine: machine('10.0.3.12', 'aa:bb:cc:00:00:12') });
    const c = h.peer('c', 'lab', { ip: '10.0.3.13', name: 'room-7' });
    assert.deepEqual([a.m.name, b.m.name, c.m.name], ['vm-10.0.3.11', 'vm-10.0.3.12', 'room-7']);
    const s = h.session('lab');
    assert.deepEqual(
      s.roster.map((r) => [r.name, r.ip, r.mac]),
      [
        ['vm-10.0.3.11', '10.0.3.11', 'aa:bb:cc:00:00:11'],
        ['vm-10.0.3.12', '10.0.3.12', 'aa:bb:cc:00:00:12'],
        ['room-7', '10.0.3.13', null],
      ],
    );
    assert.deepEqual(
      s.transfers.map((t) => [t.clientName, t.clientIp]),
      [['vm-10.0.3.11', '10.0.3.11']],
    );
    assert.deepEqual(
      s.waiting.map((w) => [w.name, w.ip, w.mac]),
      [
        ['vm-10.0.3.12', '10.0.3.12', 'aa:bb:cc:00:00:12'],
        ['room-7', '10.0.3.13', null],
      ],
    );
    assert.equal(s.servers[0]?.ip, '10.0.3.1');
    h.send(a.m, { type: 'done', server: 'seed', bytes: 4 * 65536, ms: 10 });
    assert.deepEqual(h.session('lab').tree, [
      { client: 'vm-10.0.3.11', server: 'seed', ip: '10.0.3.11', mac: 'aa:bb:cc:00:00:11' },
    ]);
    assert.ok(statusSnapshotSchema.safeParse(h.state.status()).success, 'the snapshot matches its schema');
  });

  test('a reconnect keeps the display name; one host and no MAC still gives distinct names', () => {
    const h = new StateHarness();
    const ids = ['p1', 'p2', 'p3'];
    for (const id of ids) h.join(id, 'peer', 'one', { name: 'vm' });
    const names = ids.map((id) => h.state.members.get(id)!.name);
    assert.equal(new Set(names).size, 3, names.join(' '));
    h.join('p2', 'peer', 'one', { name: 'vm' }); // reconnects
    assert.equal(h.state.members.get('p2')!.name, names[1]);
  });
});

describe('a roster per session: every machine and how it ended', () => {
  test('imaged (time, source), failed (code, reason), left, lost; the summary counts them', () => {
    const h = new StateHarness();
    h.seeder('seed', 'lab', { options: { endCount: 2, startManual: true } });
    const peers = Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((id) => [id, h.peer(id, 'lab')]));
    h.send(peers.c!.m, { type: 'leave', reason: 'target /x/c.img: ENOENT', code: 'ERR_TARGET_UNUSABLE' });
    h.send(peers.d!.m, { type: 'leave', reason: 'SIGTERM' });
    h.close(peers.d!.conn); // the link drops after the goodbye: still left
    h.close(peers.e!.conn); // dropped without a word: lost
    h.send(h.state.members.get('seed')!, { type: 'get-status' });
    h.state.effects.apply(h.state.scheduler.startSession('lab', h.now));
    h.now += 500;
    h.send(peers.a!.m, { type: 'done', server: 'seed', bytes: 1, ms: 1 });
    h.send(peers.b!.m, { type: 'done', server: 'seed', bytes: 1, ms: 1 });
    const s = h.session('lab');
    assert.equal(s.state, 'ended');
    const by = Object.fromEntries(s.roster.map((r) => [r.name, r]));
    assert.deepEqual([by.a?.outcome, by.a?.source, by.a?.imagedAt], ['imaged', 'seed', h.now]);
    assert.deepEqual(
      [by.c?.outcome, by.c?.code, by.c?.reason],
      ['failed', 'ERR_TARGET_UNUSABLE', 'target /x/c.img: ENOENT'],
    );
    assert.deepEqual([by.d?.outcome, by.e?.outcome], ['left', 'lost']);
    assert.deepEqual(s.summary, { imaged: 2, failed: 1, waiting: 0, expected: 2 });
    assert.equal(s.roster.length, 5, 'seeders are servers, not roster machines');
  });

  test('a failed report about its own disk (ERR_TARGET_UNUSABLE) is a failure on the roster too', () => {
    const h = new StateHarness();
    h.seeder('seed', 'lab');
    const p = h.peer('p', 'lab');
    h.send(p.m, { type: 'failed', server: 'seed', code: 'ERR_TARGET_UNUSABLE', reason: 'EIO', badSlices: [] });
    assert.deepEqual(
      h.session('lab').roster.map((r) => [r.outcome, r.code]),
      [['failed', 'ERR_TARGET_UNUSABLE']],
    );
  });

  test('the seeders are sent the final summary and roster with session-ended; peers only the reason', () => {
    const h = new StateHarness();
    const seed = h.seeder('seed', 'lab', { options: { endCount: 1 } });
    const p = h.peer('p', 'lab');
    h.send(p.m, { type: 'done', server: 'seed', bytes: 1, ms: 1 });
    const [ended] = seed.conn.of('session-ended');
    assert.equal(ended?.report?.name, 'lab');
    assert.equal(ended.report.endReason, 'end-count');
    assert.deepEqual(ended.report.summary, { imaged: 1, failed: 0, waiting: 0, expected: 1 });
    assert.deepEqual(
      ended.report.roster.map((r) => [r.name, r.outcome, r.source]),
      [['p', 'imaged', 'seed']],
    );
    assert.deepEqual(p.conn.of('session-ended'), [{ type: 'session-ended', session: 'lab', reason: 'end-count' }]);
  });

  test('ended sessions stay visible, the oldest forgotten past the bound', () => {
    const h = new StateHarness();
    for (let i = 0; i < 4; i++) {
      const seed = h.seeder(`seed-${i}`, `s${i}`);
      h.state.effects.apply(h.state.scheduler.endSession(`s${i}`, h.now++, 'operator'));
      h.close(seed.conn);
    }
    const { sessions, members } = h.state;
    assert.deepEqual(pruneSessions({ sessions, members }, 2), ['s0', 's1']);
    assert.deepEqual(
      h.state.status().sessions.map((s) => [s.name, s.state]),
      [
        ['s2', 'ended'],
        ['s3', 'ended'],
      ],
    );
  });
});

describe('nobody waits silently', () => {
  test('a peer waiting for a session no seeder opened is listed under it, unopened, until it leaves', () => {
    const h = new StateHarness();
    const w = h.join('w1', 'peer', 'nosuch', { ip: '10.0.3.40' });
    const s = h.session('nosuch');
    assert.equal(s.state, 'unopened');
    assert.deepEqual(
      s.roster.map((r) => [r.name, r.outcome]),
      [['w1', 'waiting']],
    );
    assert.deepEqual(
      s.waiting.map((x) => [x.position, x.name, x.ip]),
      [[0, 'w1', '10.0.3.40']],
    );
    h.tick(500);
    assert.ok(h.state.status('nosuch').sessions[0], 'kept while its peer waits');
    h.close(w.conn);
    h.tick(500);
    assert.equal(h.state.status('nosuch').sessions.length, 0, 'forgotten once nobody waits for it');
  });

  test('the session opening turns the waiting peers into its roster', () => {
    const h = new StateHarness();
    h.join('w1', 'peer', 'late');
    h.seeder('seed', 'late');
    const s = h.session('late');
    assert.equal(s.state, 'running');
    assert.deepEqual(
      s.roster.map((r) => r.name),
      ['w1'],
    );
  });
});
