import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CascadeError, computeImageId, MIN_SLICE_SIZE, SliceBitmap, type Manifest } from '@cascade/common';
import {
  checkTargetPlace,
  Flusher,
  openTarget,
  syncTarget,
  writeSlice,
  type OpenedTarget,
} from '../../src/target/target.js';

const S = MIN_SLICE_SIZE;
/** 3 full slices and a 1000-byte tail. */
const SIZE = 3 * S + 1000;

function makeManifest(size: number): Manifest {
  const count = Math.ceil(size / S);
  const body = {
    version: 1 as const,
    size,
    sliceSize: S,
    digest: 'md5' as const,
    digests: Array.from({ length: count }, (_, i) => i.toString(16).padStart(32, '0')),
    zero: new SliceBitmap(count).toBase64(),
  };
  return { ...body, imageId: computeImageId(body), name: 'test.img' };
}

function assertUnusable(err: unknown): boolean {
  assert.ok(err instanceof CascadeError, `expected a CascadeError, got ${String(err)}`);
  assert.equal(err.code, 'ERR_TARGET_UNUSABLE');
  return true;
}

const manifest = makeManifest(SIZE);
let dir: string;
const opened: OpenedTarget[] = [];
let n = 0;
const fresh = (): string => join(dir, `target-${n++}.img`);

async function openTracked(path: string, m: Manifest = manifest): Promise<OpenedTarget> {
  const t = await openTarget(path, m);
  opened.push(t);
  return t;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-target-test-'));
});

after(async () => {
  for (const t of opened) await t.fh.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

describe('openTarget', () => {
  test('a new file is created, sized to the image, and known to read as zeros', async () => {
    const path = fresh();
    const t = await openTracked(path);
    assert.equal(t.path, path);
    assert.equal(t.blockDevice, false);
    assert.equal(t.size, SIZE);
    assert.equal(t.zeroFilled, true);
    assert.equal((await stat(path)).size, SIZE);
    assert.ok((await readFile(path)).equals(Buffer.alloc(SIZE)));
  });

  test('an existing empty file is sized to the image and counts as zero-filled', async () => {
    const path = fresh();
    await writeFile(path, Buffer.alloc(0));
    const t = await openTracked(path);
    assert.equal(t.zeroFilled, true);
    assert.equal((await stat(path)).size, SIZE);
  });

  test('an existing larger file is cut to the image size and not assumed to be zeros', async () => {
    const path = fresh();
    const old = Buffer.alloc(SIZE + 5 * S, 0xab);
    await writeFile(path, old);
    const t = await openTracked(path);
    assert.equal(t.zeroFilled, false);
    assert.equal(t.size, SIZE);
    const now = await readFile(path);
    assert.equal(now.length, SIZE);
    assert.ok(now.equals(old.subarray(0, SIZE)), 'the kept prefix is untouched (for --reuse)');
  });

  test('an existing smaller file is grown to the image size and not assumed to be zeros', async () => {
    const path = fresh();
    await writeFile(path, Buffer.alloc(100, 0xcd));
    const t = await openTracked(path);
    assert.equal(t.zeroFilled, false);
    assert.equal(t.size, SIZE);
    const now = await readFile(path);
    assert.equal(now.length, SIZE);
    assert.ok(now.subarray(0, 100).equals(Buffer.alloc(100, 0xcd)));
  });

  test('an existing file of exactly the image size keeps its content and is not assumed to be zeros', async () => {
    const path = fresh();
    const old = Buffer.alloc(SIZE, 0x11);
    await writeFile(path, old);
    const t = await openTracked(path);
    assert.equal(t.zeroFilled, false);
    assert.ok((await readFile(path)).equals(old));
  });

  test('a directory is refused with ERR_TARGET_UNUSABLE', async () => {
    const path = join(dir, 'a-directory');
    await mkdir(path);
    await assert.rejects(openTarget(path, manifest), assertUnusable);
  });

  test('a path under a directory that does not exist is refused with ERR_TARGET_UNUSABLE, creating nothing', async () => {
    const path = join(dir, 'missing-dir', 'target.img');
    await assert.rejects(openTarget(path, manifest), assertUnusable);
    await assert.rejects(stat(join(dir, 'missing-dir')), { code: 'ENOENT' });
  });

  test('a path under a regular file is refused with ERR_TARGET_UNUSABLE', async () => {
    const file = fresh();
    await writeFile(file, 'x');
    await assert.rejects(openTarget(join(file, 'target.img'), manifest), assertUnusable);
  });

  test(
    'a read-only file is refused with ERR_TARGET_UNUSABLE',
    { skip: process.getuid?.() === 0 && 'root can write anyway' },
    async () => {
      const path = fresh();
      await writeFile(path, Buffer.alloc(10), { mode: 0o444 });
      await assert.rejects(openTarget(path, manifest), assertUnusable);
    },
  );

  test('the refusal names the target path in its message', async () => {
    const path = join(dir, 'nowhere', 'x.img');
    await assert.rejects(openTarget(path, manifest), (err: unknown) => {
      assertUnusable(err);
      assert.match((err as Error).message, /nowhere/);
      return true;
    });
  });
});

describe('checkTargetPlace (at startup, before any session)', () => {
  const refused = (err: unknown): boolean => err instanceof CascadeError && err.code === 'ERR_TARGET_UNUSABLE';

  test('a file in a folder that does not exist is refused, and nothing is created', async () => {
    const path = join(dir, 'no-such-folder', 'disk.img');
    await assert.rejects(checkTargetPlace(path), (err) => refused(err) && /does not exist/.test(String(err)));
    await assert.rejects(stat(join(dir, 'no-such-folder')));
  });

  test('a folder is refused', async () => {
    await assert.rejects(checkTargetPlace(dir), (err) => refused(err) && /is a directory/.test(String(err)));
  });

  test('a new file in an existing folder, or an existing file, passes', async () => {
    await checkTargetPlace(join(dir, 'new-startup.img'));
    const existing = join(dir, 'existing-startup.img');
    await writeFile(existing, 'x');
    await checkTargetPlace(existing);
  });
});

describe('writeSlice', () => {
  test('chunks are written one after another at the slice position, leaving other bytes alone', async () => {
    const path = fresh();
    const t = await openTracked(path);
    const chunks = [Buffer.alloc(1000, 1), Buffer.alloc(S - 3000, 2), Buffer.alloc(2000, 3)];
    await writeSlice(t, S, chunks);
    await syncTarget(t);
    const now = await readFile(path);
    assert.ok(now.subarray(S, 2 * S).equals(Buffer.concat(chunks)));
    assert.ok(now.subarray(0, S).equals(Buffer.alloc(S)), 'the slice before is untouched');
    assert.ok(now.subarray(2 * S).equals(Buffer.alloc(SIZE - 2 * S)), 'the slices after are untouched');
  });

  test('the short last slice is written at the end without growing the file', async () => {
    const path = fresh();
    const t = await openTracked(path);
    const tail = Buffer.alloc(1000, 0x77);
    await writeSlice(t, 3 * S, [tail]);
    const now = await readFile(path);
    assert.equal(now.length, SIZE);
    assert.ok(now.subarray(3 * S).equals(tail));
  });

  test('writing slices out of order gives the same file as writing them in order', async () => {
    const slices = [0, 1, 2, 3].map((i) => Buffer.alloc(i === 3 ? 1000 : S, 0x10 + i));
    const a = await openTracked(fresh());
    const b = await openTracked(fresh());
    for (const i of [0, 1, 2, 3]) await writeSlice(a, i * S, [slices[i] as Buffer]);
    for (const i of [3, 1, 0, 2]) await writeSlice(b, i * S, [slices[i] as Buffer]);
    assert.ok((await readFile(a.path)).equals(await readFile(b.path)));
    assert.ok((await readFile(a.path)).equals(Buffer.concat(slices)));
  });

  test('an empty chunk list writes nothing', async () => {
    const t = await openTracked(fresh());
    await writeSlice(t, 0, []);
    assert.ok((await readFile(t.path)).equals(Buffer.alloc(SIZE)));
  });

  test('short writes are retried until every chunk is on disk', async () => {
    const disk = Buffer.alloc(64);
    let calls = 0;
    const fh = {
      // Writes at most 5 bytes per call, like a device under pressure.
      async writev(buffers: Buffer[], position: number) {
        calls++;
        let written = 0;
        for (const b of buffers) {
          const take = Math.min(b.length, 5 - written);
          b.copy(disk, position + written, 0, take);
          written += take;
          if (written === 5) break;
        }
        return { bytesWritten: written, buffers };
      },
    } as unknown as FileHandle;
    const t: OpenedTarget = { fh, path: 'fake', blockDevice: false, size: 64, zeroFilled: true };
    const chunks = [Buffer.from('abcdefg'), Buffer.from('hi'), Buffer.from('jklmnopqrstu')];
    await writeSlice(t, 10, chunks);
    assert.equal(disk.subarray(10, 31).toString(), 'abcdefghijklmnopqrstu');
    assert.ok(disk.subarray(0, 10).equals(Buffer.alloc(10)));
    assert.ok(disk.subarray(31).equals(Buffer.alloc(33)));
    assert.equal(calls, Math.ceil(21 / 5));
  });

  test('a failed write is reported as ERR_TARGET_UNUSABLE', async () => {
    const t = await openTarget(fresh(), manifest);
    await t.fh.close();
    await assert.rejects(writeSlice(t, 0, [Buffer.alloc(10)]), assertUnusable);
  });

  test('a failed flush is reported as ERR_TARGET_UNUSABLE', async () => {
    const t = await openTarget(fresh(), manifest);
    await t.fh.close();
    await assert.rejects(syncTarget(t), assertUnusable);
  });
});

describe('Flusher: a target flushed while it is written', () => {
  /** A file handle whose datasync is held until released, counting the calls. */
  function heldSync(fail?: Error): { fh: { datasync(): Promise<void> }; calls: () => number; finish: () => void } {
    let calls = 0;
    let finish: () => void = () => undefined;
    return {
      fh: {
        datasync: () => {
          calls++;
          return new Promise<void>((resolve, reject) => {
            finish = () => (fail ? reject(fail) : resolve());
          });
        },
      },
      calls: () => calls,
      finish: () => finish(),
    };
  }

  test('a flush starts each time enough is written, one at a time; settle waits for it', async () => {
    const h = heldSync();
    const f = new Flusher(h.fh, 100);
    f.wrote(60);
    assert.equal(h.calls(), 0, 'not yet 100 bytes');
    f.wrote(60);
    assert.equal(h.calls(), 1, 'a flush at 120 bytes');
    f.wrote(500);
    assert.equal(h.calls(), 1, 'never two at once');
    let settled = false;
    const s = f.settle().then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'settle waits for the flush in progress');
    h.finish();
    await s;
    f.wrote(100);
    assert.equal(h.calls(), 2, 'the next flush once the first is done');
    h.finish();
    await f.settle();
  });

  test('a background flush that failed is thrown by settle, and by the next write and syncTarget as ERR_TARGET_UNUSABLE', async () => {
    const h = heldSync(new Error('EIO: i/o error'));
    const f = new Flusher(h.fh, 10);
    f.wrote(10);
    h.finish();
    await assert.rejects(f.settle(), /EIO/);
    const t = await openTarget(fresh(), manifest);
    t.flusher = f;
    await assert.rejects(writeSlice(t, 0, [Buffer.alloc(10)]), assertUnusable, 'the next write fails at once');
    await assert.rejects(syncTarget(t), assertUnusable);
    await t.fh.close();
  });

  test('writing a whole image flushes it as it goes, byte-exact', async () => {
    const t = await openTarget(fresh(), manifest);
    t.flusher = new Flusher(t.fh, 2 * S);
    const data = Buffer.alloc(SIZE, 7);
    for (let i = 0; i * S < SIZE; i++) await writeSlice(t, i * S, [data.subarray(i * S, (i + 1) * S)]);
    await syncTarget(t);
    assert.equal(t.flusher.started, 1, 'one flush during the writes (at 2 slices)');
    await t.fh.close();
    assert.ok((await readFile(t.path)).equals(data));
  });
});
