import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { coordinatorRefusal, FATAL_CONTROL_CODES, isFatalRefusal, serverRefusal } from '../src/errors.js';

describe('remote codes are wrapped, never taken as local ones', () => {
  test('a code a coordinator may send is kept as remoteCode of ERR_COORDINATOR_REFUSED', () => {
    const e = coordinatorRefusal('ERR_AUTH_FAILED', 'wrong token');
    assert.equal(e.code, 'ERR_COORDINATOR_REFUSED');
    assert.equal(e.remoteCode, 'ERR_AUTH_FAILED');
    assert.equal(e.message, 'coordinator refused: wrong token (ERR_AUTH_FAILED)');
    assert.equal(isFatalRefusal(e), true);
  });

  test('a code a coordinator may not send (a local one, or garbage) is named in the message only, never fatal', () => {
    for (const code of ['ERR_TARGET_UNUSABLE', 'ERR_VERIFY_FAILED', 'x'.repeat(200)]) {
      const e = coordinatorRefusal(code, 'nope');
      assert.equal(e.code, 'ERR_COORDINATOR_REFUSED');
      assert.equal(e.remoteCode, undefined);
      assert.ok(e.message.length < 160, e.message);
      assert.equal(isFatalRefusal(e), false);
    }
  });

  test('a known but non-fatal coordinator code is not fatal', () => {
    assert.equal(isFatalRefusal(coordinatorRefusal('ERR_RATE_LIMITED', 'slow down')), false);
    assert.equal(FATAL_CONTROL_CODES.has('ERR_RATE_LIMITED'), false);
  });

  test('the data plane does the same with ERR_SERVER_REFUSED', () => {
    assert.equal(serverRefusal('s1', 'ERR_SERVER_FULL', 'full').remoteCode, 'ERR_SERVER_FULL');
    assert.equal(serverRefusal('s1', 'ERR_TARGET_UNUSABLE', 'lies').remoteCode, undefined);
  });
});
