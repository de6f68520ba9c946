import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CascadeError,
  isCascadeError,
  silentLogger,
  type ClientMessage,
  type ControlHandlers,
  type Manifest,
  type RoleControl,
} from '@cascade/common';
import { Seeder, type SeederOptions, type SeederResult } from '../src/seeder.js';
import { seederCapacity, type SeederComponents } from '../src/seeder-components.js';

const manifest = {
  version: 1,
  imageId: 'a'.repeat(32),
  name: 'lab.img',
  size: 10,
  sliceSize: 65536,
  digest: 'md5',
  digests: ['0'.repeat(32)],
  zero: '',
} as unknown as Manifest;

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

class StubControl implements RoleControl {
  readonly sent: ClientMessage[] = [];
  handlers: ControlHandlers | null = null;
  localAddress = '127.0.0.1';
  closed = false;
  start(): Promise<void> {
    return new Promise(() => undefined);
  }
  send(m: ClientMessage): boolean {
    this.sent.push(m);
    return true;
  }
  close(): void {
    this.closed = true;
  }
}

function rig(o: { manifestError?: Error; mtimes?: number[]; opts?: Partial<SeederOptions> } = {}) {
  const control = new StubControl();
  const hooks: { onImageChanged: ((err: CascadeError) => void) | null } = { onImageChanged: null };
  const ticks: Array<() => void> = [];
  const mtimes = o.mtimes ?? [1];
  let served = { closed: false, bytesServed: 1234 };
  const components: SeederComponents = {
    logger: silentLogger(),
    control: (h) => {
      control.handlers = h;
      return control;
    },
    manifest: async () => {
      await Promise.resolve();
      if (o.manifestError) throw o.manifestError;
      return { manifest, cached: true };
    },
    image: {
      open: () => Promise.resolve(undefined),
      mtime: async () => {
        await Promise.resolve();
        const t = mtimes.length > 1 ? mtimes.shift()! : mtimes[0]!;
        if (t < 0) throw new Error('ENOENT');
        return t;
      },
    },
    serve: ({ onImageChanged }) => {
      hooks.onImageChanged = onImageChanged;
      served = { closed: false, bytesServed: 1234 };
      const server = {
        get bytesServed() {
          return served.bytesServed;
        },
        close: async () => void (served.closed = true),
      };
      return Promise.resolve({ server, bound: { host: '127.0.9.1', port: 7000 } });
    },
    every: (_ms, fn) => {
      ticks.push(fn);
      return () => undefined;
    },
  };
  const opts: SeederOptions = {
    logger: silentLogger(),
    image: 'lab.img',
    coordinator: 'ws://127.0.0.1:1',
    session: 'lab',
    capacity: 2,
    listen: { host: '127.0.9.1', port: 0 },
    sessionOptions: { startCount: 3 },
    ...o.opts,
  };
  const seeder = new Seeder(opts, components);
  const run = seeder.run().then(
    (r: SeederResult) => r,
    (e: unknown) => e,
  );
  return { seeder, control, run, ticks, hooks, served: () => served };
}

describe('seeder phases', () => {
  test('manifest → serving: on welcome it opens the session and offers its slots; session-ended ends it', async () => {
    const r = rig();
    await until(() => r.control.handlers !== null, 'connecting');
    assert.equal(r.seeder.phase, 'serving');
    r.control.handlers!.onConnected();
    await until(() => r.control.sent.length === 2, 'open-session and serve');
    assert.equal(r.control.sent[0]?.type, 'open-session');
    assert.deepEqual(r.control.sent[1], { type: 'serve', host: '127.0.9.1', port: 7000, capacity: 2 });
    r.control.handlers!.onMessage({ type: 'session-ended', session: 'lab', reason: 'count reached' });
    assert.deepEqual(await r.run, { reason: 'count reached', bytesServed: 1234 });
    assert.equal(r.seeder.phase, 'ended');
    assert.equal(r.served().closed, true);
    assert.equal(r.control.closed, true);
  });

  test('once told its session started, it re-opens it as started after a reconnect (a restarted coordinator does not gate it again)', async () => {
    const r = rig();
    await until(() => r.control.handlers !== null, 'connecting');
    r.control.handlers!.onConnected();
    await until(() => r.control.sent.length === 2, 'open-session and serve');
    assert.equal((r.control.sent[0] as { started?: boolean }).started, undefined, 'a first opening is gated');
    r.control.handlers!.onMessage({ type: 'ack', of: 'session-started', session: 'lab' });
    r.control.handlers!.onConnected(); // the coordinator restarted: the seeder reconnects
    await until(() => r.control.sent.length === 4, 'open-session and serve again');
    const reopen = r.control.sent[2];
    assert.equal(reopen?.type, 'open-session');
    assert.equal((reopen as { started?: boolean }).started, true);
    assert.deepEqual((reopen as { options?: unknown }).options, { startCount: 3 }, 'its options are unchanged');
    r.control.handlers!.onMessage({ type: 'session-ended', session: 'lab', reason: 'end-count' });
    await r.run;
  });

  test('a relay session without --capacity offers one slot (a single full-rate chain); an explicit capacity is honoured', async () => {
    const cases = [
      { opts: { capacity: undefined, sessionOptions: { relay: true } }, offered: 1 },
      { opts: { capacity: 3, sessionOptions: { relay: true } }, offered: 3 },
      { opts: { capacity: undefined, sessionOptions: {} }, offered: 2 },
    ];
    for (const c of cases) {
      const r = rig({ opts: c.opts });
      await until(() => r.control.handlers !== null, 'connecting');
      r.control.handlers!.onConnected();
      await until(() => r.control.sent.length === 2, 'open-session and serve');
      assert.deepEqual(r.control.sent[1], { type: 'serve', host: '127.0.9.1', port: 7000, capacity: c.offered });
      r.control.handlers!.onMessage({ type: 'session-ended', session: 'lab', reason: 'done' });
      await r.run;
    }
    assert.equal(seederCapacity({ sessionOptions: { relay: true } }), 1);
    assert.equal(seederCapacity({ capacity: 4, sessionOptions: { relay: true } }), 4);
    assert.equal(seederCapacity({ sessionOptions: {} }), 2);
  });

  test('a manifest that cannot be built fails before any coordinator contact', async () => {
    const r = rig({ manifestError: new Error('EACCES: lab.img') });
    const err = await r.run;
    assert.ok(isCascadeError(err, 'ERR_IMAGE_UNREADABLE'), String(err));
    assert.equal(r.control.handlers, null);
    assert.equal(r.seeder.phase, 'failed');
  });

  test('ERR_SESSION_EXISTS from the coordinator is fatal; ERR_RATE_LIMITED is not', async () => {
    const r = rig();
    await until(() => r.control.handlers !== null, 'connecting');
    r.control.handlers!.onMessage({ type: 'error', code: 'ERR_RATE_LIMITED', message: 'slow down' });
    assert.equal(r.seeder.phase, 'serving');
    r.control.handlers!.onMessage({ type: 'error', code: 'ERR_SESSION_EXISTS', message: 'another image' });
    const err = await r.run;
    assert.ok(isCascadeError(err, 'ERR_SESSION_EXISTS'), String(err));
  });

  test('the image changing while served ends it with ERR_IMAGE_CHANGED; a vanished image with ERR_IMAGE_UNREADABLE', async () => {
    for (const [mtimes, code] of [
      [[1, 1, 2], 'ERR_IMAGE_CHANGED'],
      [[1, -1], 'ERR_IMAGE_UNREADABLE'],
    ] as const) {
      const r = rig({ mtimes: [...mtimes] });
      await until(() => r.ticks.length === 1, 'the image watch');
      for (let i = 0; i < 3 && r.seeder.phase === 'serving'; i++) {
        r.ticks[0]!();
        await new Promise((res) => setTimeout(res, 5));
      }
      const err = await r.run;
      assert.ok(isCascadeError(err, code), `${code}: ${String(err)}`);
    }
  });

  test('a slice failing its digest when read (the image changed) ends it with ERR_IMAGE_CHANGED, says so in leave and stops serving', async () => {
    const r = rig();
    await until(() => r.control.handlers !== null, 'connecting');
    r.control.handlers!.onConnected();
    await until(() => r.control.sent.length === 2, 'open-session and serve');
    r.hooks.onImageChanged!(new CascadeError('ERR_IMAGE_CHANGED', 'slice 3 of lab.img no longer matches'));
    const err = await r.run;
    assert.ok(isCascadeError(err, 'ERR_IMAGE_CHANGED'), String(err));
    assert.equal(r.seeder.phase, 'failed');
    assert.equal(r.served().closed, true, 'the slice server is closed');
    const leave = r.control.sent.at(-1);
    assert.equal(leave?.type, 'leave');
    assert.match((leave as { reason: string }).reason, /^ERR_IMAGE_CHANGED: slice 3/);
    assert.equal(r.control.closed, true);
  });

  test('stop() says "seeder stopped" to the coordinator and waits for the session to end, keeping its report', async () => {
    const r = rig();
    await until(() => r.control.handlers !== null, 'connecting');
    const stopped = r.seeder.stop();
    await until(() => r.control.sent.some((m) => m.type === 'leave'), 'leave');
    assert.deepEqual(r.control.sent.at(-1), { type: 'leave', reason: 'seeder stopped' });
    const report = { name: 'lab', summary: { imaged: 1, failed: 0, waiting: 0, expected: null } };
    r.control.handlers!.onMessage({ type: 'session-ended', session: 'lab', reason: 'seeder-stopped', report } as never);
    await stopped;
    assert.deepEqual(await r.run, { reason: 'seeder-stopped', bytesServed: 1234, report });
    assert.equal(r.served().closed, true);
    assert.equal(r.control.closed, true);
  });

  test('stop() without an answer from the coordinator ends it with reason "seeder stopped"', async () => {
    const r = rig({ opts: { stopWaitMs: 20 } });
    await until(() => r.control.handlers !== null, 'connecting');
    await r.seeder.stop();
    assert.deepEqual(await r.run, { reason: 'seeder stopped', bytesServed: 1234 });
    assert.equal(r.served().closed, true);
  });

  test('gave up on the coordinator: ERR_COORDINATOR_UNREACHABLE', async () => {
    const r = rig();
    await until(() => r.control.handlers !== null, 'connecting');
    r.control.handlers!.onDisconnected('gave-up');
    const err = await r.run;
    assert.ok(err instanceof CascadeError && err.code === 'ERR_COORDINATOR_UNREACHABLE', String(err));
  });
});
