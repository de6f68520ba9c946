import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@cascade/common';
import { hookEnv, runOnComplete, type HookResult } from '../../src/machine/on-complete.js';

const result: HookResult = {
  result: 'imaged',
  exitCode: 0,
  imageId: 'abc',
  target: '/dev/sdz',
  session: 'lab',
  coordinator: 'ws://c:7770',
};

describe('on-complete hook', () => {
  test('runs the command through the shell with the result in CASCADE_* variables', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cascade-hook-'));
    try {
      const out = join(dir, 'env');
      const code = await runOnComplete(
        `echo "$CASCADE_RESULT $CASCADE_EXIT_CODE $CASCADE_IMAGE_ID $CASCADE_TARGET $CASCADE_SESSION [$CASCADE_ERROR_CODE]" > ${out}`,
        result,
        silentLogger(),
      );
      assert.equal(code, 0);
      assert.equal(await readFile(out, 'utf8'), 'imaged 0 abc /dev/sdz lab []\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a failing hook resolves with its exit code instead of throwing', async () => {
    assert.equal(await runOnComplete('exit 7', result, silentLogger()), 7);
  });

  test('a hook that runs too long is killed', async () => {
    assert.equal(await runOnComplete('sleep 30', result, silentLogger(), 200), null);
  });

  test('failures carry their error code; a missing image id is empty', () => {
    const env = hookEnv(
      { ...result, result: 'failed', exitCode: 3, imageId: null, errorCode: 'ERR_TARGET_IN_USE' },
      {},
    );
    assert.equal(env.CASCADE_RESULT, 'failed');
    assert.equal(env.CASCADE_EXIT_CODE, '3');
    assert.equal(env.CASCADE_IMAGE_ID, '');
    assert.equal(env.CASCADE_ERROR_CODE, 'ERR_TARGET_IN_USE');
  });
});
