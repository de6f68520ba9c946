import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildManifest,
  compressSlice,
  CompressedSliceSource,
  CorruptingSliceSource,
  DigestPool,
  FileSliceSource,
  FrameFlags,
  MIN_SLICE_SIZE,
  newTicketKey,
  signTicket,
  silentLogger,
  SliceServer,
  slicePayloadLength,
  slicePieces,
  UsedMap,
  verifyTicket,
  wireBytes,
  type Manifest,
  type SliceSource,
} from '@cascade/common';
import { fetchSlices, type SliceFetchOptions, type SliceFetchResult } from '../../src/fetch/slice-client.js';
import { maxCompressedLength, wireLengthVerdict } from '../../src/fetch/wire-length.js';
import { SliceStore } from '../../src/slices/slice-store.js';
import { openTarget, writePayload, type OpenedTarget } from '../../src/target/target.js';
import { noise } from '../../../common/test/fixtures.js';

const HOST = '127.0.3.7';
const S = MIN_SLICE_SIZE;
const SESSION = 'lab-z';
const SERVER_ID = 'seeder-z';
const SIZE = 10 * S + 5000;
/** Used ranges: some within a slice, some across slice edges, the last one to the end. */
const USED: [number, number][] = [
  [0, 3 * 512],
  [S - 4096, S + 8192],
  [2 * S + 512, 4 * S],
  [5 * S + 1024, 5 * S + 2048],
  [7 * S, 9 * S + 300 * 512],
  [SIZE - 2 * 512, SIZE],
];

let dir: string;
let image: Buffer;
let manifest: Manifest;
let imageFh: FileHandle;
const key = newTicketKey();
const servers: SliceServer[] = [];
const targets: OpenedTarget[] = [];
let targetCount = 0;

/** Text-like bytes (compress well) with noise in places (raw slices), stale bytes everywhere else. */
function masterImage(): Buffer {
  const b = noise(SIZE, 77); // free space: stale, incompressible
  const text = Buffer.from('cascade images lab machines over unicast TCP; '.repeat(Math.ceil(SIZE / 40)));
  for (const [s, e] of USED) text.copy(b, s, s, e);
  noise(2 * S, 5).copy(b, 2 * S + 512, 0, 2 * S - 512); // slices 2..3: used and incompressible
  return b;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-compressed-test-'));
  image = masterImage();
  const path = join(dir, 'lab.img');
  await writeFile(path, image);
  manifest = await buildManifest(path, { sliceSize: S, used: UsedMap.fromRanges(USED, SIZE) });
  imageFh = await open(path, 'r');
});

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const t of targets) await t.fh.close().catch(() => undefined);
  await imageFh?.close();
  await rm(dir, { recursive: true, force: true });
});

async function startServer(wrap: (s: SliceSource) => SliceSource = (s) => s): Promise<number> {
  const file = new FileSliceSource(manifest, imageFh);
  const compressed = new CompressedSliceSource(file, async (i) => {
    const payload = Buffer.from(await file.readSlice(i));
    const z = compressSlice(payload, 3);
    return z ? Buffer.from(z) : null;
  });
  const server = new SliceServer({
    logger: silentLogger(),
    source: wrap(compressed),
    authorize: (hello) =>
      verifyTicket(hello.ticket, key, {
        server: SERVER_ID,
        imageId: manifest.imageId,
        session: SESSION,
        now: Date.now(),
      }),
    capacity: 2,
    host: HOST,
    port: 0,
  });
  servers.push(server);
  return (await server.listen()).port;
}

async function fetchInto(
  port: number,
  over: Partial<SliceFetchOptions> = {},
): Promise<{ r: SliceFetchResult; t: OpenedTarget }> {
  const store = new SliceStore(manifest);
  for (let i = 0; i < store.count; i++) if (store.zero.get(i)) store.markHeld(i);
  store.resetQueue();
  const t = await openTarget(join(dir, `target-${targetCount++}.img`), manifest);
  targets.push(t);
  const ticket = signTicket(
    { session: SESSION, imageId: manifest.imageId, client: 'peer-z', server: SERVER_ID, expires: Date.now() + 60_000 },
    key,
  );
  const r = await fetchSlices({
    logger: silentLogger(),
    manifest,
    server: { id: SERVER_ID, name: 'seeder', host: HOST, port },
    ticket,
    session: SESSION,
    clientId: 'peer-z',
    window: 4,
    stallTimeoutMs: 5000,
    connectTimeoutMs: 5000,
    minRate: 0,
    next: () => store.next(),
    retry: (i) => store.retry(i),
    onVerified: async (i, chunks) => {
      await writePayload(t, slicePieces(manifest, i), chunks);
      store.markHeld(i);
    },
    ...over,
  });
  assert.equal(store.complete, r.error === null, 'the store is complete when the transfer is');
  return { r, t };
}

/** The target holds the image's bytes on every used range, zeros (never written: sparse) elsewhere. */
async function assertUsedRangesExact(t: OpenedTarget): Promise<void> {
  const onDisk = await readFile(t.path);
  assert.equal(onDisk.length, SIZE);
  let at = 0;
  for (const [s, e] of USED) {
    assert.ok(
      onDisk.subarray(at, s).every((b) => b === 0),
      `unused bytes ${at}..${s} were written`,
    );
    assert.ok(onDisk.subarray(s, e).equals(image.subarray(s, e)), `used range ${s}..${e} differs`);
    at = e;
  }
  const st = await stat(t.path);
  assert.ok(st.blocks * 512 < SIZE, `the target file is sparse (${st.blocks * 512} bytes allocated of ${SIZE})`);
}

describe('fetchSlices: payloads and compressed slices', () => {
  test('compressed and raw slices are verified inline and scattered to their used pieces only', async () => {
    const port = await startServer();
    const { r, t } = await fetchInto(port);
    assert.equal(r.error, null);
    assert.deepEqual(r.badSlices, []);
    assert.equal(r.bytes, wireBytes(manifest), 'payload bytes: the used bytes of the non-zero slices');
    assert.ok((r.wireBytes ?? Infinity) < r.bytes / 2, `wire ${r.wireBytes} well below payload ${r.bytes}`);
    await assertUsedRangesExact(t);
  });

  test('on the hashing threads (decompressed into pooled shared buffers)', async () => {
    const pool = new DigestPool(2);
    try {
      const port = await startServer();
      const { r, t } = await fetchInto(port, {
        digest: pool.digest,
        decompress: (a, w, n, into) => pool.digestCompressed(a, w, n, into),
        verifiers: 2,
      });
      assert.equal(r.error, null);
      assert.deepEqual(r.badSlices, []);
      await assertUsedRangesExact(t);
    } finally {
      await pool.close();
    }
  });

  test('a slice corrupted in its compressed form is a bad slice: fetched again, image right', async () => {
    const pool = new DigestPool(1);
    try {
      const port = await startServer((s) => new CorruptingSliceSource(s, { once: [0, 8] }));
      const { r, t } = await fetchInto(port, { decompress: (a, w, n, into) => pool.digestCompressed(a, w, n, into) });
      assert.equal(r.error, null);
      assert.deepEqual([...r.badSlices].sort(), [0, 8]);
      await assertUsedRangesExact(t);
    } finally {
      await pool.close();
    }
  });

  test('a SLICE frame length is held to the payload (raw) or its bound (compressed)', () => {
    const i = 1;
    const payload = slicePayloadLength(manifest, i);
    assert.equal(wireLengthVerdict(manifest, i, payload, 0), 'ok');
    assert.equal(wireLengthVerdict(manifest, i, S, 0), payload === S ? 'ok' : 'bad');
    assert.equal(wireLengthVerdict(manifest, i, 100, FrameFlags.COMPRESSED), 'ok');
    assert.equal(wireLengthVerdict(manifest, i, 0, FrameFlags.COMPRESSED), 'bad');
    const bound = maxCompressedLength(payload, S);
    assert.equal(wireLengthVerdict(manifest, i, bound + 1, FrameFlags.COMPRESSED), 'too-large');
    assert.equal(wireLengthVerdict(manifest, i, payload, FrameFlags.ZERO), 'bad');
    assert.equal(maxCompressedLength(4 << 20, 64 << 20), (4 << 20) + 65536 + 65536);
  });
});
