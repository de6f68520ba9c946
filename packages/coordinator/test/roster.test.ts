import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { displayNames } from '../src/members/member-names.js';
import { Roster, summaryLine } from '../src/sessions/roster.js';
import { UnreachableReports } from '../src/health/unreachable-reports.js';

const m = (id: string, hostname: string, ip: string | null, mac: string | null = null) => ({ id, hostname, ip, mac });

describe('displayNames: unique names for machines that share a hostname', () => {
  test('a unique hostname is kept; shared ones get the address', () => {
    const names = displayNames([
      m('1', 'lab', '10.0.3.11'),
      m('2', 'lab', '10.0.3.12'),
      m('3', 'room-12', '10.0.3.13'),
    ]);
    assert.deepEqual([...names.values()], ['lab-10.0.3.11', 'lab-10.0.3.12', 'room-12']);
  });

  test('a shared address falls back to the MAC, then to a number; never two equal names', () => {
    const names = displayNames([
      m('1', 'vm', '127.0.0.1', 'aa:bb:cc:00:00:01'),
      m('2', 'vm', '127.0.0.1', 'aa:bb:cc:00:00:02'),
      m('3', 'vm', '127.0.0.1', '00:00:00:00:00:00'),
      m('4', 'vm', '127.0.0.1', null),
      m('5', 'vm-127.0.0.1', '10.0.0.9'),
    ]);
    assert.equal(names.get('1'), 'vm-aa:bb:cc:00:00:01');
    assert.equal(names.get('2'), 'vm-aa:bb:cc:00:00:02');
    assert.equal(new Set(names.values()).size, 5, [...names.values()].join(' '));
  });
});

describe('Roster: every machine and how it ended', () => {
  test('outcomes, final ones kept on disconnect, and the summary line', () => {
    const r = new Roster();
    for (const id of ['a', 'b', 'c', 'd', 'e']) r.join(m(id, id, `10.0.0.${id.charCodeAt(0)}`), 1);
    r.transferring('a');
    r.imaged('a', 'seeder', 5);
    r.gone('a', 'left'); // imaged stays imaged
    r.failed('b', 'ERR_TARGET_UNUSABLE', 'cannot open /dev/sdz');
    r.gone('b', 'lost'); // failed stays failed
    r.gone('c', 'left');
    r.gone('d', 'lost');
    r.transferring('e');
    assert.deepEqual(
      r.list().map((e) => [e.id, e.outcome]),
      [
        ['a', 'imaged'],
        ['b', 'failed'],
        ['c', 'left'],
        ['d', 'lost'],
        ['e', 'transferring'],
      ],
    );
    assert.deepEqual(r.get('a'), { ...r.get('a')!, imagedAt: 5, source: 'seeder' });
    assert.equal(r.get('b')!.reason, 'cannot open /dev/sdz');
    assert.equal(summaryLine(r.summary(6)), 'imaged 1 · failed 1 · waiting 1 of 6 expected');
    assert.equal(summaryLine(r.summary(null)), 'imaged 1 · failed 1 · waiting 1');
    r.join(m('d', 'd', '10.0.0.100'), 9); // a lost machine that comes back waits again
    assert.equal(r.get('d')!.outcome, 'waiting');
    assert.equal(r.get('d')!.joinedAt, 1);
  });

  test('bounded: finished machines are forgotten first', () => {
    const r = new Roster(3);
    r.join(m('w', 'w', null), 0);
    for (const id of ['x', 'y', 'z']) {
      r.join(m(id, id, null), 0);
      r.gone(id, 'left');
    }
    assert.equal(r.list().length, 3);
    assert.ok(r.get('w'), 'a waiting machine was forgotten');
  });
});

describe('UnreachableReports', () => {
  test('three distinct clients mark a server; one client three times does not; clear resets', () => {
    const u = new UnreachableReports({ threshold: 3, windowMs: 60_000 });
    assert.equal(u.report('s', 'c1', 0), 'suspect');
    assert.equal(u.report('s', 'c1', 1), 'suspect');
    assert.equal(u.report('s', 'c2', 2), 'suspect');
    assert.equal(u.isUnreachable('s'), false);
    assert.equal(u.report('s', 'c3', 3), 'unreachable');
    assert.equal(u.isUnreachable('s'), true);
    assert.equal(u.reportCount('s'), 3);
    assert.equal(u.clear('s'), true);
    assert.equal(u.isUnreachable('s'), false);
    assert.equal(u.clear('s'), false, 'nothing left to clear');
  });

  test('old reports expire', () => {
    const u = new UnreachableReports({ threshold: 2, windowMs: 1000 });
    u.report('s', 'c1', 0);
    assert.equal(u.report('s', 'c2', 5000), 'suspect');
    assert.equal(u.report('s', 'c3', 5001), 'unreachable');
  });

  test('a lone client is believed: the threshold is at most the clients that could report', () => {
    const u = new UnreachableReports();
    assert.equal(u.report('s', 'only', 0, 1), 'unreachable');
    assert.equal(u.report('t', 'a', 0, 2), 'suspect');
    assert.equal(u.report('t', 'b', 0, 2), 'unreachable');
  });

  test('a held-back server is due again after its hold: 15 s when suspect, 60 s when unreachable', () => {
    const u = new UnreachableReports();
    u.report('s', 'c1', 0);
    u.report('t', 'c1', 0, 1);
    assert.deepEqual(u.due(14_999), []);
    assert.deepEqual(u.due(15_000), ['s']);
    assert.deepEqual(u.due(59_999), []);
    assert.deepEqual(u.due(60_000), ['t']);
    assert.equal(u.isUnreachable('t'), true, 'tried again, still shown unreachable until it serves');
  });
});
