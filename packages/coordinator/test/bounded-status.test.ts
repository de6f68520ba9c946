import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CoordinatorMetrics, MAX_SESSION_LABELS } from '../src/status/metrics.js';
import { silentLogger } from '@cascade/common';
import { CoordinatorState } from '../src/coordinator-state.js';
import { STATUS_SESSION_LIMIT } from '../src/status/status.js';

const IMAGE = { imageId: 'a'.repeat(32), size: 1000, name: 'lab.img' };

describe('bounded /status and /metrics (issue 16, finding 9)', () => {
  const state = new CoordinatorState({ log: silentLogger(), now: () => 1, processMetrics: false });
  const scheduler = state.scheduler;
  for (let i = 0; i < 1000; i++) scheduler.enqueueClient(`junk-${i}`, `c-${i}`, 0);
  scheduler.openSession('real', IMAGE, {}, 0);
  const status = (only?: string): ReturnType<CoordinatorState['status']> => state.status(only);

  test('a snapshot lists at most STATUS_SESSION_LIMIT sessions, opened ones first, and counts the rest', () => {
    const snap = status();
    assert.equal(snap.sessions.length, STATUS_SESSION_LIMIT);
    assert.equal(snap.sessions[0]?.name, 'real', 'the opened session is listed first');
    assert.equal(snap.truncated?.sessions, 1001 - STATUS_SESSION_LIMIT);
    assert.deepEqual(snap.counts, { pending: 1000, waiting: 0, running: 1, ended: 0 });
    assert.equal(status('junk-999').sessions[0]?.name, 'junk-999', 'one session by name is always found');
  });

  test('/metrics labels at most MAX_SESSION_LABELS sessions and counts every session by state', async () => {
    const m = new CoordinatorMetrics(() => status(), { processMetrics: false });
    for (let i = 0; i < 5000; i++) m.transfer(`made-up-${i}`, 'failed');
    const text = await m.text();
    const labels = new Set([...text.matchAll(/session="([^"]+)"/g)].map((x) => x[1]));
    assert.ok(labels.size <= MAX_SESSION_LABELS + STATUS_SESSION_LIMIT + 1, `${labels.size} session labels`);
    assert.ok(labels.has('_other'));
    assert.match(text, /cascade_sessions\{state="pending"\} 1000/);
    assert.ok(text.length < 256 * 1024, `${text.length} bytes`);
  });
});
