import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { silentLogger } from '@cascade/common';
import { CoordinatorState } from '../src/coordinator-state.js';
import { decider } from '../src/decisions/decide.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import type { Decision } from '../src/scheduler/types.js';
import { admit, helloOf, StubConnection } from './member-stubs.js';

describe('decide: every decision a handler causes is applied', () => {
  test('each deciding call hands its decisions to apply, in order, and returns nothing', () => {
    const applied: Decision[][] = [];
    const decide = decider(new Scheduler(), (d) => applied.push(d));
    const out: unknown = decide.openSession('lab', { imageId: 'i', size: 1, name: 'img' }, {}, 0);
    decide.enqueueClient('lab', 'p1', 1);
    assert.equal(out, undefined);
    assert.deepEqual(
      applied.map((ds) => ds.map((d) => d.kind)),
      [['started'], ['queued']],
    );
  });

  test("a handler's decide sends what was decided: a waiting client hears its place", () => {
    const state = new CoordinatorState({ log: silentLogger(), now: () => 0, processMetrics: false });
    const conn = new StubConnection();
    admit(state.members, conn, helloOf('p1', 'peer', 'lab'));
    state.ctx.decide.openSession('lab', { imageId: 'i', size: 1, name: 'img' }, { startManual: true }, 0);
    state.ctx.decide.enqueueClient('lab', 'p1', 1);
    assert.equal(state.scheduler.getClient('p1')?.state, 'queued');
    assert.deepEqual(conn.of('queued'), [{ type: 'queued', position: 0 }]);
  });
});
