import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CascadeError, coordinatorRefusal } from '@cascade/common';
import { ExitCode, exitCodeFor } from '../src/exit.js';

describe('exit codes', () => {
  test('a coordinator refusing the configuration (token, version, session name) exits 2', () => {
    for (const code of ['ERR_AUTH_REQUIRED', 'ERR_AUTH_FAILED', 'ERR_PROTOCOL_VERSION', 'ERR_UNKNOWN_SESSION'])
      assert.equal(exitCodeFor(coordinatorRefusal(code, 'no')), ExitCode.BAD_CONFIG, code);
  });

  test('a local code sent by the coordinator never becomes that local exit code', () => {
    assert.equal(exitCodeFor(coordinatorRefusal('ERR_INCOMPLETE', 'lies')), ExitCode.FAILURE);
    assert.equal(exitCodeFor(coordinatorRefusal('ERR_TARGET_UNUSABLE', 'lies')), ExitCode.FAILURE);
    assert.equal(exitCodeFor(new CascadeError('ERR_TARGET_UNUSABLE', 'mine')), ExitCode.TARGET_UNUSABLE);
  });
});
