import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildManifest } from '@cascade/common';
import { loadOrBuildManifest } from '../src/manifest-cache.js';
import { recheckReportedSlices, sampleSlices } from '../src/manifest-check.js';

const dir = await mkdtemp(join(tmpdir(), 'cascade-manifest-check-'));
after(() => rm(dir, { recursive: true, force: true }));
const SLICE = 64 * 1024;

describe('manifest checks (issue 16, finding 7)', () => {
  test('sampleSlices: every slice of a small image; else first, last and 32 distinct others', () => {
    assert.deepEqual(sampleSlices(5), [0, 1, 2, 3, 4]);
    const s = sampleSlices(10_000);
    assert.equal(s.length, 34);
    assert.equal(new Set(s).size, 34);
    assert.equal(s[0], 0);
    assert.equal(s.at(-1), 9_999);
    assert.ok(s.every((i) => Number.isInteger(i) && i >= 0 && i < 10_000));
  });

  test('recheckReportedSlices finds the slices whose bytes changed, and only those', async () => {
    const img = join(dir, 'recheck.img');
    await writeFile(img, randomBytes(8 * SLICE + 100));
    const m = await buildManifest(img, { sliceSize: SLICE });
    assert.deepEqual(await recheckReportedSlices(img, m, [0, 3, 8]), []);
    const fh = await open(img, 'r+');
    await fh.write(Buffer.from('changed'), 0, 7, 3 * SLICE + 5);
    await fh.close();
    assert.deepEqual(await recheckReportedSlices(img, m, [0, 3, 8, 99, -1]), [3]);
  });

  test('an image that is a FIFO is refused at once with ERR_BAD_CONFIG', async () => {
    const fifo = join(dir, 'image.fifo');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(loadOrBuildManifest(fifo, { sliceSize: SLICE }), {
      code: 'ERR_BAD_CONFIG',
      message: /not a regular file or block device/,
    });
  });
});
