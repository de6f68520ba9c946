import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CoordinatorMessageOf } from '@cascade/common';
import { StateHarness } from './state-harness.js';

const MB = 1_000_000;

describe('moves through the coordinator', () => {
  test('progress rates → a move → an assign {move: true} with a fresh ticket, logged and counted', async () => {
    const h = new StateHarness();
    h.seeder('seed', 'lab', { capacity: 1, host: '127.0.0.5' });
    const p = h.join('idle', 'peer', 'lab');
    h.imaged(p.m);
    h.serve(p.m, '127.0.0.6', 3);
    const c1 = h.peer('c1', 'lab');
    const c2 = h.peer('c2', 'lab');
    const assigns = (c: typeof c1): Array<CoordinatorMessageOf<'assign'>> =>
      c.conn.sent.filter((m): m is CoordinatorMessageOf<'assign'> => m.type === 'assign');
    const [a1] = assigns(c1);
    const [a2] = assigns(c2);
    assert.ok(a1 && a2 && a1.move === undefined, 'both assigned, not as moves');
    const slow = a1.server.id === 'seed' ? c1 : c2; // whichever the seeder took
    const fast = slow === c1 ? c2 : c1;
    for (let i = 0; i < 24; i++) {
      h.send(slow.m, { type: 'progress', slices: 1, bytes: 1000 + i, rate: 1 * MB });
      h.send(fast.m, { type: 'progress', slices: 1, bytes: 1000 + i, rate: 8 * MB });
      h.tick(250);
    }
    const moves = assigns(slow).filter((m) => m.move === true);
    assert.equal(moves.length, 1, JSON.stringify(slow.conn.sent));
    const move = moves[0]!;
    assert.equal(move.server.id, 'idle');
    assert.notEqual(move.ticket, assigns(slow)[0]!.ticket, 'a fresh ticket for the new server');
    assert.equal(assigns(fast).length, 1, 'the fast client stays');
    const logged = h.log.find((l) => l.msg === 'moved');
    assert.deepEqual(logged && [logged.fields.client, logged.fields.from, logged.fields.to, logged.fields.reason], [
      slow.m.name,
      'seed',
      'idle',
      'slow-server',
    ]);
    assert.equal(logged?.fields.rate, 1 * MB);
    assert.equal(h.state.scheduler.getServer('seed')?.clients.size, 0, "the seeder's slot is free");
    assert.match(await h.state.metrics.text(), /cascade_transfers_total\{session="lab",outcome="moved"\} 1/);
    // Its old transfer ended (server lost) before it heard of the move: not a failure to act on.
    const sent = slow.conn.sent.length;
    h.send(slow.m, { type: 'failed', server: 'seed', code: 'ERR_SERVER_LOST', reason: 'reset', badSlices: [] });
    assert.equal(h.state.scheduler.getClient(slow.m.id)?.server, 'idle', 'still bound to where it was moved');
    assert.deepEqual(slow.conn.sent.slice(sent), [], 'no queued, no new assignment');
  });
});
