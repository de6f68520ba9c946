import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openableManifest, StateHarness } from './state-harness.js';

describe('seeder lifecycle, coordinator side', () => {
  test('a second seeder of the same image adds a source and leaves the gating and options alone', () => {
    const h = new StateHarness();
    h.seeder('s1', 'gate', { options: { startManual: true, endCount: 2 } });
    h.peer('g1', 'gate');
    h.peer('g2', 'gate');
    const s2 = h.seeder('s2', 'gate', { options: {} }); // its own default: start at once
    const s = h.session('gate');
    assert.deepEqual([s.state, s.startedAt, s.transfers.length], ['waiting', null, 0]);
    assert.deepEqual(s.options, { startManual: true, endCount: 2 });
    assert.deepEqual(s.servers.map((x) => x.name).sort(), ['s1', 's2']);
    assert.deepEqual(s2.conn.of('ack'), [{ type: 'ack', of: 'open-session', session: 'gate' }]);
    assert.equal(h.state.sessions.get('gate')?.openedBy, 's1');
    assert.ok(h.log.some((l) => l.msg === 'another source joins' && l.fields.seeder === 's2'));
  });

  test('another image under an open session name is refused', () => {
    const h = new StateHarness();
    h.seeder('s1', 'lab');
    const other = h.join('s2', 'seeder', 'lab');
    h.send(other.m, { type: 'open-session', manifest: { ...openableManifest(7) }, options: {} });
    assert.deepEqual(
      other.conn.rejected.map((e) => e.code),
      ['ERR_SESSION_EXISTS'],
    );
  });

  test('the opener stopping ends its session ("seeder-stopped"); waiting peers are told', () => {
    const h = new StateHarness();
    const s1 = h.seeder('s1', 'sig', { options: { startManual: true } });
    const p = h.peer('p', 'sig');
    h.send(s1.m, { type: 'leave', reason: 'stopped' });
    const s = h.session('sig');
    assert.deepEqual([s.state, s.endReason], ['ended', 'seeder-stopped']);
    assert.deepEqual(
      p.conn.of('session-ended').map((m) => m.reason),
      ['seeder-stopped'],
    );
  });

  test('another seeder stopping, or the opener merely disconnecting, ends nothing; the opener comes back', () => {
    const h = new StateHarness();
    const s1 = h.seeder('s1', 'lab', { options: { startManual: true } });
    const s2 = h.seeder('s2', 'lab');
    h.send(s2.m, { type: 'leave', reason: 'stopped' });
    assert.equal(h.session('lab').state, 'waiting');
    h.close(s1.conn);
    assert.equal(h.session('lab').state, 'waiting', 'a crash or a network fault does not end the session');
    const back = h.seeder('s1', 'lab', { options: {} });
    assert.deepEqual(h.session('lab').options, { startManual: true }, 'the session keeps its options');
    assert.ok(h.log.some((l) => l.msg === 'seeder back'));
    h.send(back.m, { type: 'leave', reason: 'stopped' });
    assert.equal(h.session('lab').state, 'ended');
  });

  test('an opener gone for good: the next seeder of the image takes the session over', () => {
    const h = new StateHarness();
    const s1 = h.seeder('s1', 'lab');
    h.close(s1.conn);
    const s2 = h.seeder('s2', 'lab');
    assert.equal(h.state.sessions.get('lab')?.openedBy, 's2');
    h.send(s2.m, { type: 'leave', reason: 'stopped' });
    assert.equal(h.session('lab').endReason, 'seeder-stopped');
  });

  test('handover: with the option set and a complete source left, the session goes on without its opener', () => {
    const h = new StateHarness();
    const s1 = h.seeder('s1', 'lab', { options: { handover: true } });
    const p = h.peer('p', 'lab');
    h.send(p.m, { type: 'done', server: 's1', bytes: 1, ms: 1 });
    h.serve(p.m, '10.0.3.21');
    h.send(s1.m, { type: 'leave', reason: 'stopped' });
    assert.equal(h.session('lab').state, 'running');
    assert.ok(h.state.status().warnings.some((w) => w.event === 'handed-over'));
  });

  test('the opener leaving because its image changed ends the session ("image-changed"), handover or not', () => {
    const h = new StateHarness();
    const s1 = h.seeder('s1', 'lab', { options: { handover: true } });
    const p = h.peer('p', 'lab');
    const q = h.peer('q', 'lab');
    h.send(p.m, { type: 'done', server: 's1', bytes: 1, ms: 1 });
    h.serve(p.m, '10.0.3.21');
    h.send(s1.m, { type: 'leave', reason: 'ERR_IMAGE_CHANGED: slice 3 no longer matches its digest' });
    assert.deepEqual([h.session('lab').state, h.session('lab').endReason], ['ended', 'image-changed']);
    assert.deepEqual(
      q.conn.of('session-ended').map((m) => m.reason),
      ['image-changed'],
    );
    assert.ok(h.state.status().warnings.some((w) => w.event === 'image-changed'));
  });

  test('another seeder of the session whose image changed ends nothing', () => {
    const h = new StateHarness();
    h.seeder('s1', 'lab');
    const s2 = h.seeder('s2', 'lab');
    h.send(s2.m, { type: 'leave', reason: 'ERR_IMAGE_CHANGED: slice 3 no longer matches its digest' });
    assert.equal(h.session('lab').state, 'running');
  });

  test('handover asked, but nothing complete serves on: the session ends', () => {
    const h = new StateHarness();
    const s1 = h.seeder('s1', 'lab', { options: { handover: true } });
    h.peer('p', 'lab');
    h.send(s1.m, { type: 'leave', reason: 'stopped' });
    assert.equal(h.session('lab').endReason, 'seeder-stopped');
  });
});
