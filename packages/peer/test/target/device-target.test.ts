import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { checkDeviceTarget } from '../../src/target/target.js';

describe('checkDeviceTarget (issue 16, finding 6)', () => {
  const missing = `/dev/cascade-unit-nvme9n1-${process.pid}`;
  after(() => rm(missing, { force: true }));

  test('a missing name under /dev is refused with ERR_TARGET_UNUSABLE', async () => {
    await assert.rejects(checkDeviceTarget(missing), { code: 'ERR_TARGET_UNUSABLE' });
    await assert.rejects(checkDeviceTarget('/dev/../dev/cascade-unit-x'), { code: 'ERR_TARGET_UNUSABLE' });
  });

  test('a character device under /dev is refused', async () => {
    await assert.rejects(checkDeviceTarget('/dev/null'), {
      code: 'ERR_TARGET_UNUSABLE',
      message: /not a block device/,
    });
  });

  test('paths outside /dev pass, existing or not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cascade-devtarget-'));
    after(() => rm(dir, { recursive: true, force: true }));
    await checkDeviceTarget(join(dir, 'new.img'));
    await checkDeviceTarget(join(dir, 'sub', 'deeper.img'));
  });
});
