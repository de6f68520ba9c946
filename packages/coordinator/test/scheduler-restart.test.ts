import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { RESUME_GRACE_MS } from '../src/scheduler/session-entry.js';
import type { Decision } from '../src/scheduler/types.js';

// A restarted coordinator rebuilds a session from what its seeder and peers re-announce: a
// session that had started runs on, whatever its gate, and still ends at --end-count.

const IMAGE = { imageId: 'a'.repeat(32), size: 1000, name: 'lab.img' };

const kinds = (ds: Decision[]): string[] => ds.map((d) => (d.kind === 'started' ? `started:${d.reason}` : d.kind));

describe('Scheduler after a coordinator restart', () => {
  for (const [gate, options] of [
    ['--start-count 4', { startCount: 4, endCount: 4 }],
    ['--start manual', { startManual: true, endCount: 4 }],
  ] as const) {
    test(`a ${gate} session re-opened as started runs at once and pairs its waiting clients`, () => {
      const s = new Scheduler();
      s.enqueueClient('lab', 'c1', 0);
      const out = s.openSession('lab', IMAGE, options, 1, true);
      assert.deepEqual(kinds(out), ['started:resumed']);
      assert.equal(s.getSession('lab')!.state, 'running');
      assert.deepEqual(kinds(s.addServer('lab', 'seed', 2, 2)), ['assign']);
    });

    test(`a ${gate} session counts machines imaged before the restart and ends at --end-count`, () => {
      const s = new Scheduler();
      s.openSession('lab', IMAGE, options, 0, true);
      s.addServer('lab', 'seed', 2, 0);
      for (const c of ['c1', 'c2', 'c3']) s.transferDone(c, 1, 'lab'); // imaged peers re-announce
      s.resumeTransfer('lab', 'c4', 'seed', 1);
      const out = s.transferDone('c4', 2);
      assert.deepEqual(
        out.map((d) => d.kind === 'ended' && d.reason),
        ['end-count'],
      );
      assert.equal(s.getSession('lab')!.imaged, 4);
    });

    test(`a ${gate} session whose transfers are re-announced before its seeder re-opens it runs on`, () => {
      const s = new Scheduler();
      s.resumeTransfer('lab', 'c1', 'seed', 0);
      s.transferDone('c2', 0, 'lab');
      assert.equal(s.getSession('lab')!.state, 'pending');
      assert.deepEqual(kinds(s.openSession('lab', IMAGE, options, 1, true)), ['started:resumed']);
      s.addServer('lab', 'seed', 2, 1);
      assert.equal(s.getServer('seed')!.clients.size, 1, 'the re-announced transfer holds its slot');
    });

    test(`a ${gate} session: a peer's claim of a running transfer alone does not open its gate`, () => {
      const s = new Scheduler();
      s.openSession('lab', IMAGE, options, 0);
      s.resumeTransfer('lab', 'c1', 'seed', 1);
      assert.equal(s.getSession('lab')!.state, 'waiting');
    });

    test(`a ${gate} session opened afresh is gated as before`, () => {
      const s = new Scheduler();
      s.enqueueClient('lab', 'c1', 0);
      assert.deepEqual(kinds(s.openSession('lab', IMAGE, options, 1)), []);
      assert.equal(s.getSession('lab')!.state, 'waiting');
    });
  }

  test('--linger does not end a resumed session before its peers had time to reconnect', () => {
    const s = new Scheduler();
    s.openSession('lab', IMAGE, { startCount: 2, lingerMs: 1000 }, 0, true);
    s.addServer('lab', 'seed', 2, 0);
    assert.deepEqual(kinds(s.tick(RESUME_GRACE_MS)), [], 'nobody back yet: not idle');
    s.resumeTransfer('lab', 'c1', 'seed', RESUME_GRACE_MS);
    s.transferDone('c1', RESUME_GRACE_MS + 1);
    assert.deepEqual(kinds(s.tick(RESUME_GRACE_MS + 1001)), ['ended'], 'idle for --linger once back');
  });

  test('a session that ended and is re-opened afresh is gated again', () => {
    const s = new Scheduler();
    s.openSession('lab', IMAGE, { startManual: true }, 0, true);
    s.endSession('lab', 1);
    assert.deepEqual(kinds(s.openSession('lab', IMAGE, { startManual: true }, 2)), []);
    assert.equal(s.getSession('lab')!.state, 'waiting');
  });
});
