import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ClientMessageOf } from '@cascade/common';
import type { Member } from '../src/members/member.js';
import { StateHarness } from './state-harness.js';

const unreachable = (server: string): ClientMessageOf<'failed'> => ({
  ...{ type: 'failed', server, code: 'ERR_SERVER_UNREACHABLE' },
  ...{ reason: 'connect ECONNREFUSED', badSlices: [] },
});

/** A session with a seeder of `seedCapacity` slots and an imaged peer `dark` serving 3 that nobody can reach. */
function darkLab(seedCapacity = 1) {
  const h = new StateHarness();
  h.seeder('seed', 'lab', { capacity: seedCapacity });
  const dark = h.peer('dark', 'lab');
  h.imaged(dark.m);
  h.serve(dark.m, '10.9.9.9', 3);
  return { h, dark };
}

function assignedTo(h: StateHarness, m: Member): string | null {
  return h.state.scheduler.getClient(m.id)?.server ?? null;
}

describe('unreachable servers: a network fault, counted against the server', () => {
  test('one report holds the server back at once; three distinct clients mark it unreachable in status', () => {
    const { h } = darkLab(0);
    const clients = ['c1', 'c2', 'c3', 'c4'].map((id) => h.peer(id, 'lab').m);
    assert.deepEqual(
      clients.map((c) => assignedTo(h, c)),
      ['dark', 'dark', 'dark', null],
    );
    h.send(clients[0]!, unreachable('dark'));
    assert.equal(assignedTo(h, clients[3]!), null, 'a suspect server is given no new client');
    assert.equal(h.state.scheduler.getClient('c1')?.state, 'queued', 'the reporter waits again…');
    assert.equal(h.state.scheduler.getSession('lab')?.clientQueue.peek(), 'c1', '…at the head of the queue');
    h.send(clients[1]!, unreachable('dark'));
    assert.equal(h.session('lab').servers.find((s) => s.id === 'dark')?.unreachable, false);
    h.send(clients[2]!, unreachable('dark'));
    assert.equal(h.session('lab').servers.find((s) => s.id === 'dark')?.unreachable, true);
    const warning = h.state.status().warnings.find((w) => w.event === 'server-unreachable');
    assert.match(warning?.detail ?? '', /dark could not be reached by 3 client/);
    assert.ok(h.log.some((l) => l.level === 'warn' && l.msg === 'server unreachable' && l.fields.server === 'dark'));
  });

  test('one client reporting three times is one report; reports about a server it was not assigned count for nothing', () => {
    const { h } = darkLab(0);
    const c1 = h.peer('c1', 'lab').m;
    const c2 = h.peer('c2', 'lab').m;
    h.peer('c3', 'lab');
    h.send(c1, unreachable('dark'));
    h.send(c1, unreachable('dark'));
    h.send(c2, unreachable('seed')); // not its server
    assert.equal(h.session('lab').servers.find((s) => s.id === 'dark')?.unreachable, false);
  });

  test('a held-back server gets clients again after a while; one that serves is cleared', () => {
    const { h, dark } = darkLab(0);
    const c1 = h.peer('c1', 'lab').m;
    const c2 = h.peer('c2', 'lab').m;
    h.send(c1, unreachable('dark'));
    assert.equal(assignedTo(h, c1), null);
    h.tick(15_000);
    assert.equal(assignedTo(h, c1), 'dark', 'tried again after its hold');
    // c2's transfer from it goes through: it is reachable after all
    h.send(c2, { type: 'progress', slices: 1, bytes: 65536, rate: 1 });
    assert.equal(h.state.health.isUnreachable('dark'), false);
    assert.ok(h.log.some((l) => l.msg === 'server reachable again'));
    void dark;
  });

  test('the only client of a session is believed alone; serving anew clears the mark', () => {
    const { h, dark } = darkLab(0);
    const c1 = h.peer('c1', 'lab').m;
    h.send(c1, unreachable('dark'));
    assert.equal(h.session('lab').servers.find((s) => s.id === 'dark')?.unreachable, true);
    h.serve(dark.m, '10.0.3.21', 3);
    assert.equal(h.session('lab').servers.find((s) => s.id === 'dark')?.unreachable, false);
    assert.equal(assignedTo(h, c1), 'dark');
  });
});

describe('no complete source: said loudly, cleared when one returns', () => {
  test('a seeder that disconnects leaves relays only: warn ERR_NO_SOURCE, a status warning, the gauge 0; back when it returns', async () => {
    const h = new StateHarness({ sourceGraceMs: 1000 });
    const seed = h.seeder('seed', 'relay', { options: { relay: true } });
    const r1 = h.peer('r1', 'relay');
    h.send(r1.m, { type: 'serve', host: '127.0.1.1', port: 7771, capacity: 1, relay: true });
    h.tick(500);
    assert.equal(h.session('relay').completeSources, 1);
    h.close(seed.conn);
    h.tick(500);
    assert.equal(h.session('relay').noSource, false, 'not said within the grace period');
    h.tick(1000);
    const s = h.session('relay');
    assert.equal(s.state, 'running', 'a seeder that merely disconnects does not end its session');
    assert.deepEqual([s.completeSources, s.noSource], [0, true]);
    const warn = h.log.filter((l) => l.level === 'warn' && l.fields.code === 'ERR_NO_SOURCE');
    assert.deepEqual(
      warn.map((l) => [l.fields.session, l.msg]),
      [['relay', 'no complete source']],
    );
    assert.ok(h.state.status().warnings.some((w) => /no complete source/.test(w.detail)));
    assert.match(await h.state.metrics.text(), /^cascade_session_complete_sources\{session="relay"\} 0$/m);
    h.tick(5000);
    assert.equal(h.log.filter((l) => l.fields.code === 'ERR_NO_SOURCE').length, 1, 'said once, not every tick');
    h.seeder('seed', 'relay', { options: { relay: true } }); // back
    h.tick(500);
    assert.deepEqual([h.session('relay').completeSources, h.session('relay').noSource], [1, false]);
    assert.ok(!h.state.status().warnings.some((w) => w.event === 'no-source'), 'the warning is taken back');
    assert.ok(h.log.some((l) => l.msg === 'complete source back'));
  });

  test('an imaged peer serving is a complete source; a quarantined or unreachable one is not', () => {
    const { h, dark } = darkLab(1);
    h.close(h.state.members.get('seed')!.conn!);
    assert.equal(h.session('lab').completeSources, 1, 'the imaged peer');
    h.send(h.peer('c1', 'lab').m, unreachable('dark'));
    assert.equal(h.session('lab').completeSources, 0, 'reported unreachable by the only client');
    void dark;
  });
});
