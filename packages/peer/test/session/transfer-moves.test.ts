import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CascadeError, isCascadeError, serverRefusal } from '@cascade/common';
import type { PeerTarget } from '../../src/session/components.js';
import type { SliceFetchOptions, SliceFetchResult } from '../../src/fetch/slice-client.js';
import { fetchAll, openSession, rig, stubTarget, until, type Rig } from './peer-stubs.js';

/** A target that records every slice written. */
function countingTarget(written: number[]) {
  return (m: Parameters<typeof stubTarget>[0]): PeerTarget => {
    const t = stubTarget(m);
    return { ...t, write: async (i) => void written.push(i) };
  };
}

/** A fetch that verifies one slice, asks for the next, and holds it until aborted (as the slice client does). */
async function oneThenHold(o: SliceFetchOptions): Promise<SliceFetchResult> {
  const first = o.next()!;
  await o.onVerified(first, [Buffer.alloc(1)]);
  const inFlight = o.next()!;
  await new Promise<void>((resolve) => o.signal?.addEventListener('abort', () => resolve(), { once: true }));
  o.retry(inFlight); // in flight: back to the queue
  const reason: unknown = o.signal?.reason;
  const error = reason instanceof CascadeError ? reason : new CascadeError('ERR_STOPPED', 'transfer stopped');
  return { slices: 1, bytes: 1, badSlices: [], error };
}

function deliverAssign(r: Rig, server: string, move?: boolean): void {
  const ref = { id: server, name: server, host: '127.0.9.1', port: 7771 };
  r.control.deliver({ type: 'assign', server: ref, ticket: `t-${server}`, ...(move ? { move } : {}) });
}

describe('peer: mid-transfer moves', () => {
  test('a move mid-transfer: no failed report, no backoff, the rest from the new server, every slice once', async () => {
    const written: number[] = [];
    const r = await rig({ target: countingTarget(written) });
    r.script.splice(0, 1, oneThenHold, fetchAll);
    await openSession(r);
    deliverAssign(r, 'slow');
    await until(() => r.target.store.heldSlices === 1 && r.fetches.length === 1, 'one slice from the slow server');
    const sleepsBefore = r.sleeps.length;
    deliverAssign(r, 'fast', true);
    await until(() => r.control.of('done').length === 1, 'done');
    assert.equal(r.control.of('failed').length, 0, 'a move is not a failure');
    assert.deepEqual(r.sleeps.slice(sleepsBefore), [], 'no backoff before the new server');
    assert.deepEqual(
      r.fetches.map((f) => [f.server.id, f.ticket]),
      [
        ['slow', 't-slow'],
        ['fast', 't-fast'],
      ],
    );
    assert.ok(isCascadeError(r.fetches[0]!.signal?.reason, 'ERR_MOVED'), 'the old fetch was aborted as a move');
    assert.equal(r.control.of('done')[0]!.server, 'fast');
    assert.deepEqual([...written].sort(), [0, 1, 2, 3], 'every slice written exactly once');
    const transfers = r.peer.summary.transfers;
    assert.deepEqual(
      transfers.map((t) => [t.server, t.error]),
      [
        ['slow', 'ERR_MOVED'],
        ['fast', null],
      ],
    );
    await r.peer.stop();
    await r.run;
  });

  test('a move for a peer that is not transferring is an ordinary assignment', async () => {
    const r = await rig();
    await openSession(r);
    deliverAssign(r, 'fast', true);
    await until(() => r.control.of('done').length === 1, 'done');
    assert.deepEqual(
      r.fetches.map((f) => f.server.id),
      ['fast'],
    );
    await r.peer.stop();
    await r.run;
  });

  test('the new server still full for a moment (the moved client not yet gone): tried again, then on', async () => {
    const r = await rig();
    const full = serverRefusal('fast', 'ERR_SERVER_FULL', 'serving its capacity');
    const refused = async (): Promise<SliceFetchResult> => ({ slices: 0, bytes: 0, badSlices: [], error: full });
    r.script.splice(0, 1, oneThenHold, refused, refused, fetchAll);
    await openSession(r);
    deliverAssign(r, 'slow');
    await until(() => r.target.store.heldSlices === 1, 'one slice');
    deliverAssign(r, 'fast', true);
    await until(() => r.control.of('done').length === 1, 'done');
    assert.equal(r.control.of('failed').length, 0);
    assert.deepEqual(
      r.fetches.map((f) => f.server.id),
      ['slow', 'fast', 'fast', 'fast'],
    );
    await r.peer.stop();
    await r.run;
  });
});
