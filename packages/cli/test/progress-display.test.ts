import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Logger } from '@cascade/common';
import type { PeerResult } from '@cascade/peer';
import { summaryLine, transferMs } from '../src/commands/peer-run.js';
import { ProgressDisplay } from '../src/progress-display.js';

function recordingLogger(): { logger: Logger; events: Array<Record<string, unknown>> } {
  const events: Array<Record<string, unknown>> = [];
  const logger = { info: (fields: Record<string, unknown>, msg: string) => events.push({ ...fields, msg }) };
  return { logger: logger as unknown as Logger, events };
}

describe('ProgressDisplay without a terminal', () => {
  test('logs progress as pino events, at most one per interval, plus the last one and phase changes', () => {
    const p = new ProgressDisplay(null, 60_000);
    assert.equal(p.logStream, undefined, 'no bar: logs go straight to stderr');
    const { logger, events } = recordingLogger();
    p.attach(logger);
    for (let i = 1; i <= 10; i++) p.update({ phase: 'slices', done: i, total: 10, rate: 2e6, etaMs: (10 - i) * 1000 });
    p.update({ phase: 'manifest', done: 1, total: 5 });
    p.stop();
    assert.deepEqual(events, [
      { phase: 'slices', done: 1, total: 10, rate: 2000000, etaS: 9, msg: 'progress' },
      { phase: 'slices', done: 10, total: 10, rate: 2000000, etaS: 0, msg: 'progress' },
      { phase: 'manifest', done: 1, total: 5, msg: 'progress' },
    ]);
  });
});

describe('the peer summary line', () => {
  test('says what was received, how fast (over transfer time, not waiting), from whom, and what was served', () => {
    const r: PeerResult = {
      outcome: 'imaged',
      sessionEndReason: 'end-count',
      imageId: 'x',
      bytesReceived: 20 * 1024 * 1024,
      wireBytesReceived: 20 * 1024 * 1024,
      slicesReceived: 5,
      slicesReused: 0,
      badSlices: 0,
      servers: ['seeder', 'pc-2'],
      startedAt: 1000,
      imagedAt: 11_000,
      bytesServed: 40 * 1024 * 1024,
      clientsServed: 2,
      // 3 s waiting in the queue, 4 s from the seeder, 1 s waiting, 2 s from pc-2
      transfers: [
        {
          server: 'seeder',
          startedAt: 4000,
          ms: 4000,
          slices: 3,
          bytes: 12 * 1024 * 1024,
          wireBytes: 12 * 1024 * 1024,
          badSlices: 0,
          error: 'ERR_SERVER_LOST',
        },
        {
          server: 'pc-2',
          startedAt: 9000,
          ms: 2000,
          slices: 2,
          bytes: 8 * 1024 * 1024,
          wireBytes: 8 * 1024 * 1024,
          badSlices: 0,
          error: null,
        },
      ],
    };
    assert.equal(
      summaryLine('/dev/sda', r),
      'imaged /dev/sda: 20.0 MiB received in 6.0s of transfer (3.5 MB/s), 10.0s in all, from seeder, pc-2; served 40.0 MiB to 2 clients',
    );
    assert.equal(transferMs([...r.transfers, { ...r.transfers[1]!, startedAt: 9500, ms: 500 }]), 6000, 'overlaps once');
  });
});
