import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { SessionStore } from '../src/sessions/session-store.js';
import { manifestOf } from './member-stubs.js';

describe('SessionStore: one record per session', () => {
  test("a session's opened image, names and roster live in one record, named like the scheduler's entry", () => {
    const scheduler = new Scheduler();
    const store = new SessionStore(scheduler);
    const session = store.ensure('lab');
    session.admit({ id: 'p1', hostname: 'pc', ip: '10.0.0.1', mac: null });
    session.roster.join({ id: 'p1', hostname: 'pc', ip: '10.0.0.1', mac: null }, 0);
    assert.equal(store.get('lab'), undefined, 'not opened yet');
    store.set('lab', { name: 'lab', manifest: manifestOf('img', 2), openedBy: 's1' });
    scheduler.openSession('lab', { imageId: 'img', size: 2, name: 'img' }, {}, 0);
    assert.equal(store.session('lab'), session);
    assert.equal(store.get('lab')?.openedBy, 's1');
    assert.equal(store.entry('lab')?.state, 'running');
    assert.equal(session.nameOf('p1'), 'pc');
  });

  test('drop forgets a session everywhere in one call: its record and its scheduler entry', () => {
    const scheduler = new Scheduler();
    const store = new SessionStore(scheduler);
    store.set('lab', { name: 'lab', manifest: manifestOf('img', 2), openedBy: 's1' });
    scheduler.openSession('lab', { imageId: 'img', size: 2, name: 'img' }, {}, 0);
    store.drop('lab');
    assert.deepEqual(
      [store.session('lab'), store.get('lab'), scheduler.getSession('lab')],
      [undefined, undefined, undefined],
    );
    assert.deepEqual(store.names(), []);
  });
});
