import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CascadeError,
  isCascadeError,
  RoleSkeleton,
  silentLogger,
  type ControlHandlers,
  type RoleControl,
} from '../src/index.js';

function skeleton(onMessage: (type: string) => void | Promise<void> = () => undefined) {
  let handlers: ControlHandlers | null = null;
  const control: RoleControl = {
    start: () => new Promise(() => undefined),
    send: () => true,
    close: () => undefined,
    localAddress: undefined,
  };
  const role = new RoleSkeleton<string>({
    logger: silentLogger(),
    control: (h) => {
      handlers = h;
      return control;
    },
    onConnected: () => undefined,
    onMessage: (m) => onMessage(m.type),
  });
  return { role, handlers: () => handlers! };
}

describe('RoleSkeleton', () => {
  test('events run one at a time, in order, each awaited before the next', async () => {
    const seen: string[] = [];
    const { role } = skeleton();
    const run = role.run();
    for (const name of ['a', 'b', 'c']) {
      role.post(name, async () => {
        seen.push(`${name}:start`);
        await new Promise((r) => setTimeout(r, name === 'a' ? 20 : 1));
        seen.push(`${name}:end`);
      });
    }
    await role.idle();
    assert.deepEqual(seen, ['a:start', 'a:end', 'b:start', 'b:end', 'c:start', 'c:end']);
    role.finish('done');
    assert.equal(await run, 'done');
  });

  test('an event that throws ends the role with a CascadeError; later events do not run', async () => {
    const { role } = skeleton();
    const run = role.run();
    let later = false;
    role.post('boom', () => {
      throw new TypeError('a bug');
    });
    role.post('later', () => void (later = true));
    await assert.rejects(run, (e: unknown) => isCascadeError(e, 'ERR_INTERNAL'));
    await role.idle();
    assert.equal(later, false);
  });

  test('background work that rejects ends the role with its code', async () => {
    const { role } = skeleton();
    const run = role.run();
    role.watch('transfer', Promise.reject(new CascadeError('ERR_TARGET_UNUSABLE', 'disk gone')));
    await assert.rejects(run, (e: unknown) => isCascadeError(e, 'ERR_TARGET_UNUSABLE'));
  });

  test('a failure before run() is awaited is not an unhandled rejection, and settles run()', async () => {
    const { role } = skeleton();
    role.fail(new CascadeError('ERR_STOPPED', 'stopped early'));
    await new Promise((r) => setImmediate(r)); // an unhandled rejection would be reported here
    await assert.rejects(role.run(), (e: unknown) => isCascadeError(e, 'ERR_STOPPED'));
  });

  test('coordinator errors: only the fatal codes end the role; others are not handed to the role', async () => {
    const got: string[] = [];
    const { role, handlers } = skeleton((t) => void got.push(t));
    const run = role.run();
    await new Promise((r) => setImmediate(r)); // connected after the (empty) preparation
    handlers().onMessage({ type: 'error', code: 'ERR_TARGET_UNUSABLE', message: 'not the coordinator’s to say' });
    handlers().onMessage({ type: 'queued', position: 1 });
    await role.idle();
    assert.deepEqual(got, ['queued']);
    assert.equal(role.ended, false);
    handlers().onMessage({ type: 'error', code: 'ERR_PROTOCOL_VERSION', message: 'speak v2' });
    await assert.rejects(run, { code: 'ERR_COORDINATOR_REFUSED', remoteCode: 'ERR_PROTOCOL_VERSION' });
  });

  test('a fatal code from the coordinator is wrapped as its own, never taken as a local one', async () => {
    const { role, handlers } = skeleton(() => undefined);
    const run = role.run();
    await new Promise((r) => setImmediate(r));
    handlers().onMessage({ type: 'error', code: 'ERR_SESSION_EXISTS', message: 'another image' });
    await assert.rejects(run, (e: unknown) => {
      assert.ok(isCascadeError(e, 'ERR_COORDINATOR_REFUSED'));
      assert.equal(e.remoteCode, 'ERR_SESSION_EXISTS');
      assert.match(e.message, /another image \(ERR_SESSION_EXISTS\)/);
      return true;
    });
  });
});
