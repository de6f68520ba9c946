import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StateHarness } from './state-harness.js';

describe('FIFO by joining', () => {
  test('machines waiting before the session opened are served in the order they joined', () => {
    const h = new StateHarness();
    // Three machines boot and wait for "lab" before any seeder opened it: p1 first, p3 last.
    const peers = ['p1', 'p2', 'p3'].map((id) => {
      h.tick(1000);
      return h.join(id, 'peer', 'lab');
    });
    h.tick(1000);
    h.seeder('seed', 'lab', { capacity: 1, options: { startCount: 3 } });
    // Their answers to the opening arrive in another order (a race of machines): p3, p1, p2.
    for (const i of [2, 0, 1]) h.send(peers[i]!.m, { type: 'want', have: 0 });
    const assigned = peers.map((p) => p.conn.of('assign').length);
    assert.deepEqual(assigned, [1, 0, 0], 'the seeder serves p1, the first to join');
    assert.deepEqual(
      h.session('lab').waiting.map((w) => w.name),
      ['p2', 'p3'],
    );
  });
});
