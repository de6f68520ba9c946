import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { CascadeError, isCascadeError, serverRefusal } from '@cascade/common';
import type { PeerResult } from '../../src/session/peer-result.js';
import { assign, failing, fetchAll, openSession, rig, stubTarget, until } from './peer-stubs.js';

const lost = (): CascadeError => new CascadeError('ERR_SERVER_LOST', 'connection reset');
const bad = (): CascadeError => new CascadeError('ERR_SERVER_BAD', 'srv sent 3 bad slices');

function assertFailed(v: unknown, code: string): CascadeError {
  assert.ok(isCascadeError(v), `expected a CascadeError, got ${String(v)}`);
  assert.equal(v.code, code, v.message);
  return v;
}

describe('peer: startup and connecting', () => {
  test('a serving port that cannot be bound fails at startup with ERR_BAD_CONFIG, before any coordinator contact', async () => {
    const r = await rig({
      bindError: new CascadeError('ERR_BAD_CONFIG', 'cannot listen on 127.0.9.9:7000: EADDRINUSE'),
    });
    const err = assertFailed(await r.run, 'ERR_BAD_CONFIG');
    assert.match(err.message, /EADDRINUSE/);
    assert.equal(r.control.handlers, null, 'the coordinator was never contacted');
    assert.equal(r.peer.phase, 'failed');
  });

  test('stopped while the coordinator has not answered: ERR_STOPPED (exit 5), nothing left running', async () => {
    const r = await rig();
    await until(() => r.control.handlers !== null, 'connecting');
    assert.equal(r.peer.phase, 'connecting');
    await r.peer.stop('SIGINT');
    const err = assertFailed(await r.run, 'ERR_STOPPED');
    assert.match(err.message, /nothing fetched yet/);
    assert.equal(r.control.closed, true);
  });

  test('a coordinator refusing the first connection with a non-fatal code ends it as unreachable, not as that code', async () => {
    const r = await rig();
    await until(() => r.control.handlers !== null, 'connecting');
    r.control.refuse(new CascadeError('ERR_TOO_MANY_CONNECTIONS', 'full'));
    assertFailed(await r.run, 'ERR_COORDINATOR_UNREACHABLE');
  });

  test('coordinator errors: a non-fatal one is ignored, ERR_AUTH_FAILED ends the peer', async () => {
    const r = await rig();
    await openSession(r);
    r.control.deliver({ type: 'error', code: 'ERR_TARGET_UNUSABLE', message: 'not yours to say' });
    r.control.deliver({ type: 'error', code: 'ERR_RATE_LIMITED', message: 'slow down' });
    assert.equal(r.peer.phase, 'waiting');
    r.control.deliver({ type: 'error', code: 'ERR_AUTH_FAILED', message: 'wrong token' });
    assert.equal(assertFailed(await r.run, 'ERR_COORDINATOR_REFUSED').remoteCode, 'ERR_AUTH_FAILED');
  });
});

describe('peer: preparing', () => {
  test('the session opens the target and the peer joins the queue with what it holds', async () => {
    const r = await rig();
    await openSession(r);
    assert.equal(r.peer.phase, 'waiting');
    assert.deepEqual(r.control.of('want')[0], { type: 'want', have: 0 });
    assert.equal(r.peer.imageId, r.manifest.imageId);
    await r.peer.stop();
    await r.run;
  });

  test('a target that cannot be opened ends the peer with ERR_TARGET_UNUSABLE', async () => {
    const r = await rig({ openError: new Error('EACCES') });
    await until(() => r.control.handlers !== null, 'connecting');
    r.control.welcome();
    r.control.deliver({ type: 'session', session: 'lab', manifest: { ...r.manifest }, options: {} });
    assertFailed(await r.run, 'ERR_TARGET_UNUSABLE');
    const leave = r.control.of('leave')[0];
    assert.equal(leave?.code, 'ERR_TARGET_UNUSABLE', 'the coordinator is told why, for its roster');
    assert.match(leave.reason, /EACCES/);
  });

  test('imaged, then the coordinator stays unreachable: the peer still ends as imaged', async () => {
    const r = await rig();
    await openSession(r);
    assign(r);
    await until(() => r.control.of('done').length === 1, 'done');
    r.control.handlers!.onDisconnected('gave-up');
    const result = (await r.run) as PeerResult;
    assert.equal(result.outcome, 'imaged');
    assert.equal(result.sessionEndReason, 'coordinator unreachable');
  });

  test('with --trust, an unsigned manifest is refused before the target is touched', async () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const r = await rig({ init: { trust: [publicKey] } });
    await until(() => r.control.handlers !== null, 'connecting');
    r.control.welcome();
    r.control.deliver({ type: 'session', session: 'lab', manifest: { ...r.manifest }, options: {} });
    assertFailed(await r.run, 'ERR_MANIFEST_UNSIGNED');
  });

  test('a relay session starts serving (capacity 1) while still downloading', async () => {
    const r = await rig();
    await openSession(r, { relay: true });
    assert.deepEqual(r.serving.starts, [{ relay: true, capacity: 1 }]);
    assert.equal(r.control.of('serve').length, 1);
    await r.peer.stop();
    await r.run;
  });
});

describe('peer: fetching, serving, finished', () => {
  test('assigned → fetched → done → serving → the session ends → imaged', async () => {
    const r = await rig();
    await openSession(r);
    assign(r);
    await until(() => r.control.of('done').length === 1, 'done');
    assert.equal(r.peer.phase, 'serving');
    assert.deepEqual(r.serving.starts, [{ relay: false, capacity: 3 }]);
    assert.equal(r.control.of('serve').at(-1)?.capacity, 3);
    r.control.deliver({ type: 'session-ended', session: 'lab', reason: 'count reached' });
    const result = (await r.run) as PeerResult;
    assert.equal(result.outcome, 'imaged');
    assert.equal(result.slicesReceived, 4);
    assert.equal(r.peer.phase, 'finished');
    assert.equal(r.control.of('leave').length, 1);
  });

  test('the session ending before the image is whole: ERR_INCOMPLETE', async () => {
    const r = await rig();
    await openSession(r);
    r.control.deliver({ type: 'session-ended', session: 'lab', reason: 'operator' });
    assertFailed(await r.run, 'ERR_INCOMPLETE');
  });

  test('a serving failure after done ends the peer with its code, not a crash', async () => {
    const r = await rig();
    await openSession(r);
    r.serving.startError = new CascadeError('ERR_BAD_CONFIG', 'cannot listen on 127.0.9.9:7000: EADDRINUSE');
    assign(r);
    assertFailed(await r.run, 'ERR_BAD_CONFIG');
    assert.equal(r.control.of('done').length, 1);
  });

  test('a write failure (its own target) ends the peer with ERR_TARGET_UNUSABLE and says so', async () => {
    const r = await rig({ target: (m) => stubTarget(m, { failWrites: true }) });
    r.script.splice(0, 1, async (o) => {
      const i = o.next()!;
      try {
        await o.onVerified(i, [Buffer.alloc(1)]);
      } catch (err) {
        o.retry(i);
        return { slices: 0, bytes: 0, badSlices: [], error: new CascadeError('ERR_TARGET_UNUSABLE', String(err)) };
      }
      throw new Error('the write should have failed');
    });
    await openSession(r);
    assign(r);
    assertFailed(await r.run, 'ERR_TARGET_UNUSABLE');
    assert.equal(r.control.of('failed')[0]?.code, 'ERR_TARGET_UNUSABLE');
  });
});

describe('peer: failed transfers by cause', () => {
  test('network faults, many times over, never end the peer: it reports each as ERR_SERVER_LOST, backs off and rejoins', async () => {
    const r = await rig();
    const failures = 30;
    r.script.splice(0, 1, ...Array.from({ length: failures }, () => failing(lost())), fetchAll);
    await openSession(r);
    for (let n = 1; n <= failures; n++) {
      assign(r, `srv-${n}`);
      await until(() => r.control.of('failed').length === n, `failed #${n}`);
      assert.equal(r.peer.phase, 'waiting');
    }
    assert.ok(
      r.control.of('failed').every((m) => m.code === 'ERR_SERVER_LOST'),
      'each reported as a network fault',
    );
    assert.equal(r.sleeps.at(-1), 5000, 'backoff grows to its cap');
    assert.equal(r.sleeps[0], 0, 'no backoff before the first transfer');
    assign(r, 'srv-good');
    await until(() => r.control.of('done').length === 1, 'done');
    r.control.deliver({ type: 'session-ended', session: 'lab', reason: 'done' });
    const result = (await r.run) as PeerResult;
    assert.equal(result.outcome, 'imaged');
    assert.equal(result.transfers.length, failures + 1);
  });

  test('a server refusing with ERR_TARGET_UNUSABLE (its code, not ours) is reported as ERR_SERVER_REFUSED; the peer moves on', async () => {
    const r = await rig();
    r.script.splice(0, 1, failing(serverRefusal('hostile', 'ERR_TARGET_UNUSABLE', 'go away')), fetchAll);
    await openSession(r);
    assign(r, 'hostile');
    await until(() => r.control.of('failed').length === 1, 'failed');
    const report = r.control.of('failed')[0]!;
    assert.equal(report.code, 'ERR_SERVER_REFUSED');
    assert.equal(report.remoteCode, undefined, 'a code a server may not send is not passed on as one');
    assert.equal(r.peer.phase, 'waiting');
    assign(r, 'good');
    await until(() => r.control.of('done').length === 1, 'done');
    await r.peer.stop();
    assert.equal(((await r.run) as PeerResult).outcome, 'imaged');
  });

  test('a full server is a refusal that counts: reported with remoteCode ERR_SERVER_FULL, then backoff', async () => {
    const r = await rig();
    const full = (): CascadeError => serverRefusal('busy', 'ERR_SERVER_FULL', 'serving its capacity');
    r.script.splice(0, 1, failing(full()), failing(full()), failing(full()), fetchAll);
    await openSession(r);
    for (let n = 1; n <= 3; n++) {
      assign(r, 'busy');
      await until(() => r.control.of('failed').length === n, `failed #${n}`);
    }
    assert.deepEqual(
      r.control.of('failed').map((m) => [m.code, m.remoteCode]),
      Array.from({ length: 3 }, () => ['ERR_SERVER_REFUSED', 'ERR_SERVER_FULL']),
    );
    assign(r, 'busy');
    await until(() => r.fetches.length === 4, 'fourth fetch');
    assert.deepEqual(r.sleeps, [0, 0, 250, 500], 'the backoff grew with each refusal');
    await r.peer.stop();
    await r.run;
  });

  test('only transfers ending on bad slices from one server count towards ERR_VERIFY_FAILED (exit 4)', async () => {
    const r = await rig({ init: { maxServerFailures: 2 } });
    const script = [lost(), bad(), bad(), lost(), bad(), bad()];
    r.script.splice(0, 1, ...script.map((e) => failing(e)));
    const servers = ['srv', 'srv', 'other', 'srv', 'srv', 'srv']; // 'other' sends bad slices once
    await openSession(r);
    for (let n = 1; n <= 6; n++) {
      assign(r, servers[n - 1]);
      if (n < 6) await until(() => r.control.of('failed').length === n, `failed #${n}`);
    }
    const err = assertFailed(await r.run, 'ERR_VERIFY_FAILED');
    assert.match(err.message, /3 transfers from one server ended on bad slices/);
  });

  test('an assignment while a transfer runs is ignored', async () => {
    const r = await rig();
    let release: () => void = () => undefined;
    r.script.splice(0, 1, async (o) => {
      await new Promise<void>((resolve) => (release = resolve));
      return fetchAll(o);
    });
    await openSession(r);
    assign(r, 'a');
    await until(() => r.fetches.length === 1, 'first fetch');
    assign(r, 'b');
    await new Promise((res) => setImmediate(res));
    assert.equal(r.fetches.length, 1);
    assert.equal(r.peer.phase, 'fetching');
    release();
    await until(() => r.control.of('done').length === 1, 'done');
    await r.peer.stop();
    await r.run;
  });

  test('stop during a transfer aborts it and ends with ERR_STOPPED, keeping what was verified', async () => {
    const r = await rig();
    r.script.splice(0, 1, async (o) => {
      const i = o.next()!;
      await o.onVerified(i, [Buffer.alloc(1)]);
      await new Promise<void>((resolve) => o.signal?.addEventListener('abort', () => resolve(), { once: true }));
      return { slices: 1, bytes: 1, badSlices: [], error: new CascadeError('ERR_STOPPED', 'transfer stopped') };
    });
    await openSession(r);
    assign(r);
    await until(() => r.target.store.heldSlices === 1, 'one slice');
    await r.peer.stop('SIGTERM');
    const err = assertFailed(await r.run, 'ERR_STOPPED');
    assert.match(
      err.message,
      /1 of 4 slices verified and kept on the target; run again with --reuse to fetch only the rest/,
    );
    assert.equal(r.control.of('failed').length, 0, 'a stop is not reported as a failed transfer');
  });
  test('a fetcher that throws (a bug) ends the peer with ERR_INTERNAL, never an unhandled rejection; stop() still resolves', async () => {
    const r = await rig();
    r.script.splice(0, 1, async () => {
      await Promise.resolve();
      throw new TypeError('undefined is not a function');
    });
    await openSession(r);
    assign(r);
    assertFailed(await r.run, 'ERR_INTERNAL');
    await r.peer.stop();
  });
});
