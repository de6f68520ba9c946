import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openableManifest, StateHarness } from './state-harness.js';

// A coordinator restart changes nothing: seeders learn that their session started and say so when
// they re-open it, so a restarted coordinator runs it on instead of gating it again.

const started = { type: 'ack', of: 'session-started', session: 'lab' };

describe('a started session across a coordinator restart, coordinator side', () => {
  test('its seeders are told when the session starts, and a seeder joining a running session at once', () => {
    const h = new StateHarness();
    const s1 = h.seeder('s1', 'lab', { options: { startManual: true } });
    h.peer('p1', 'lab');
    assert.deepEqual(s1.conn.of('ack'), [{ type: 'ack', of: 'open-session', session: 'lab' }], 'not while waiting');
    const op = h.join('op', 'operator', undefined);
    h.send(op.m, { type: 'start-session', session: 'lab' });
    assert.deepEqual(s1.conn.of('ack').at(-1), started);
    const s2 = h.seeder('s2', 'lab');
    assert.deepEqual(s2.conn.of('ack').at(-1), started);
  });

  for (const [gate, options] of [
    ['--start-count 3', { startCount: 3, endCount: 2 }],
    ['--start manual', { startManual: true, endCount: 2 }],
  ] as const) {
    test(`a ${gate} session re-opened as started runs at once, serves its waiting peer and ends at --end-count`, () => {
      const h = new StateHarness(); // the restarted coordinator
      const p1 = h.peer('p1', 'lab'); // back before the seeder
      const s1 = h.join('s1', 'seeder', 'lab');
      h.send(s1.m, { type: 'open-session', manifest: { ...openableManifest() }, options, started: true });
      h.serve(s1.m, '127.0.0.1');
      assert.equal(h.session('lab').state, 'running', 'not gated again');
      assert.ok(h.log.some((l) => l.msg === 'session started' && l.fields.reason === 'resumed'));
      assert.equal(p1.conn.of('assign').length, 1, 'the waiting peer is served');
      const p2 = h.join('p2', 'peer', 'lab'); // imaged before the restart: it says so
      h.imaged(p2.m);
      h.send(p1.m, { type: 'done', server: 's1', bytes: 1, ms: 1 });
      const s = h.session('lab');
      assert.deepEqual([s.state, s.endReason, s.imaged], ['ended', 'end-count', 2]);
    });

    test(`a ${gate} session opened afresh is gated as before, and another source cannot say it started`, () => {
      const h = new StateHarness();
      h.peer('p1', 'lab');
      h.seeder('s1', 'lab', { options });
      assert.equal(h.session('lab').state, 'waiting');
      const s2 = h.join('s2', 'seeder', 'lab');
      h.send(s2.m, { type: 'open-session', manifest: { ...openableManifest() }, options, started: true });
      assert.equal(h.session('lab').state, 'waiting', 'only the opener may');
    });
  }
});
