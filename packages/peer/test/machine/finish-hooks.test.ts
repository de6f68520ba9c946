import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { silentLogger } from '@cascade/common';
import { hookFor, runFinishHook } from '../../src/machine/finish-hooks.js';
import type { HookResult } from '../../src/machine/on-complete.js';

const base: HookResult = {
  result: 'imaged',
  exitCode: 0,
  imageId: 'abc',
  target: '/dev/sdz',
  session: 'lab',
  coordinator: 'ws://c:7770',
};
const hooks = { onComplete: 'reboot -f', onFailure: 'echo failed' };

describe('finish hooks: on-complete only when imaged, on-failure otherwise', () => {
  test('hookFor picks by result and never falls back to the other hook', () => {
    assert.deepEqual(hookFor(hooks, 'imaged'), { kind: 'on-complete', cmd: 'reboot -f' });
    assert.deepEqual(hookFor(hooks, 'failed'), { kind: 'on-failure', cmd: 'echo failed' });
    assert.deepEqual(hookFor(hooks, 'incomplete'), { kind: 'on-failure', cmd: 'echo failed' });
    assert.equal(hookFor({ onComplete: 'reboot -f' }, 'failed'), null, 'on-complete ran on a failure');
    assert.equal(hookFor({ onFailure: 'x' }, 'imaged'), null);
    assert.equal(hookFor({}, 'imaged'), null);
  });

  test('runFinishHook runs on-failure with the error in CASCADE_* and leaves on-complete alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cascade-finish-hook-'));
    try {
      const r: HookResult = { ...base, result: 'failed', exitCode: 3, imageId: null, errorCode: 'ERR_TARGET_UNUSABLE' };
      const code = await runFinishHook(
        {
          onComplete: `touch ${join(dir, 'complete')}`,
          onFailure: `echo "$CASCADE_RESULT $CASCADE_EXIT_CODE $CASCADE_ERROR_CODE" > ${join(dir, 'failure')}`,
        },
        r,
        silentLogger(),
      );
      assert.equal(code, 0);
      assert.equal(await readFile(join(dir, 'failure'), 'utf8'), 'failed 3 ERR_TARGET_UNUSABLE\n');
      await assert.rejects(stat(join(dir, 'complete')), { code: 'ENOENT' });
      assert.equal(await runFinishHook({ onComplete: 'exit 9' }, r, silentLogger()), undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
