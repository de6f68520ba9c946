import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildManifest,
  CorruptingSliceSource,
  DigestPool,
  encodeError,
  FileSliceSource,
  MIN_SLICE_SIZE,
  newTicketKey,
  signTicket,
  silentLogger,
  SliceServer,
  sliceLength,
  verifyTicket,
  wireBytes,
  type Manifest,
  type SliceSource,
} from '@cascade/common';
import { fetchSlices, type SliceFetchOptions, type SliceFetchResult } from '../../src/fetch/slice-client.js';
import { SliceStore } from '../../src/slices/slice-store.js';
import { openTarget, writeSlice, type OpenedTarget } from '../../src/target/target.js';
import { noise } from '../../../common/test/fixtures.js';

const HOST = '127.0.3.2';
const S = MIN_SLICE_SIZE;
const SESSION = 'lab-a';
const SERVER_ID = 'seeder-1';
const CLIENT_ID = 'peer-1';
/** 12 full slices and a 3000-byte tail; slices 4 and 9 are all zeros. */
const LENGTHS = [...Array.from({ length: 12 }, () => S), 3000];
const ZERO = new Set([4, 9]);

let dir: string;
let image: Buffer;
let manifest: Manifest;
let imageFh: FileHandle;
const key = newTicketKey();
const servers: SliceServer[] = [];
const rawServers: Server[] = [];
const rawSockets = new Set<Socket>();
const targets: OpenedTarget[] = [];
let targetCount = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-slice-client-test-'));
  image = Buffer.concat(LENGTHS.map((len, i) => (ZERO.has(i) ? Buffer.alloc(len) : noise(len, 500 + i))));
  const path = join(dir, 'lab.img');
  await writeFile(path, image);
  manifest = await buildManifest(path, { sliceSize: S });
  imageFh = await open(path, 'r');
});

after(async () => {
  for (const s of rawSockets) s.destroy();
  await Promise.all([
    ...servers.map((s) => s.close()),
    ...rawServers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
  ]);
  for (const t of targets) await t.fh.close().catch(() => undefined);
  await imageFh?.close();
  await rm(dir, { recursive: true, force: true });
});

const nonZero = (): number[] => LENGTHS.map((_, i) => i).filter((i) => !ZERO.has(i));
const sliceOf = (buf: Buffer, i: number): Buffer => buf.subarray(i * S, i * S + sliceLength(manifest, i));

function ticket(k: Uint8Array = key, client = CLIENT_ID): string {
  return signTicket(
    { session: SESSION, imageId: manifest.imageId, client, server: SERVER_ID, expires: Date.now() + 60_000 },
    k,
  );
}

async function startServer(
  wrap: (s: SliceSource) => SliceSource = (s) => s,
): Promise<{ server: SliceServer; port: number }> {
  const server = new SliceServer({
    logger: silentLogger(),
    source: wrap(new FileSliceSource(manifest, imageFh)),
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
  const { port } = await server.listen();
  return { server, port };
}

/** A peer's side of a transfer: its store (zero slices already marked, as the peer does) and its target. */
interface Side {
  store: SliceStore;
  target: OpenedTarget;
  /** Every index handed to the client by next(), in order. */
  requested: number[];
  verified: number[];
  /** Largest number of slices requested but not yet verified or put back. */
  maxInFlight: number;
}

async function newSide(): Promise<Side> {
  const store = new SliceStore(manifest);
  for (const i of ZERO) store.markHeld(i);
  store.resetQueue();
  const target = await openTarget(join(dir, `target-${targetCount++}.img`), manifest);
  targets.push(target);
  return { store, target, requested: [], verified: [], maxInFlight: 0 };
}

function fetchFrom(
  port: number,
  side: Side,
  overrides: Partial<SliceFetchOptions> & { afterVerified?: (index: number) => void } = {},
): Promise<SliceFetchResult> {
  let inFlight = 0;
  const { afterVerified, ...rest } = overrides;
  return fetchSlices({
    logger: silentLogger(),
    manifest,
    server: { id: SERVER_ID, name: 'seeder', host: HOST, port },
    ticket: ticket(),
    session: SESSION,
    clientId: CLIENT_ID,
    window: 4,
    stallTimeoutMs: 3000,
    connectTimeoutMs: 5000,
    minRate: 64 * 1024,
    next: () => {
      const i = side.store.next();
      if (i !== undefined) {
        side.requested.push(i);
        inFlight++;
        side.maxInFlight = Math.max(side.maxInFlight, inFlight);
      }
      return i;
    },
    retry: (i) => {
      inFlight--;
      side.store.retry(i);
    },
    onVerified: async (i, chunks) => {
      await writeSlice(side.target, i * S, chunks);
      side.store.markHeld(i);
      side.verified.push(i);
      inFlight--;
      afterVerified?.(i);
    },
    ...rest,
  });
}

/** Every slice the store holds reads back from the target exactly as in the image. */
async function assertHeldSlicesExact(side: Side): Promise<void> {
  const onDisk = await readFile(side.target.path);
  for (let i = 0; i < manifest.digests.length; i++) {
    if (side.store.has(i)) assert.ok(sliceOf(onDisk, i).equals(sliceOf(image, i)), `held slice ${i} differs`);
  }
}

/** Nothing was lost: every slice not held can still be fetched from the queue. */
function assertMissingStillQueued(side: Side): void {
  const queued = new Set<number>();
  for (let i = side.store.next(); i !== undefined; i = side.store.next()) queued.add(i);
  const missing = nonZero().filter((i) => !side.store.has(i));
  assert.deepEqual(
    [...queued].sort((a, b) => a - b),
    missing,
  );
}

describe('fetchSlices', () => {
  test('all slices are fetched with window 4, verified, and written exactly', async () => {
    const { server, port } = await startServer();
    const side = await newSide();
    const result = await fetchFrom(port, side);
    assert.equal(result.error, null);
    assert.deepEqual(result.badSlices, []);
    assert.equal(result.slices, nonZero().length);
    assert.equal(result.bytes, wireBytes(manifest));
    assert.deepEqual(side.verified, nonZero(), 'slices arrive in request order');
    assert.deepEqual(side.requested, nonZero(), 'zero slices are never requested');
    // In flight = requested and not yet written: the 4 GETs, plus one verified slice still being
    // written while the next is verified (writes are pipelined).
    assert.ok(side.maxInFlight >= 4 && side.maxInFlight <= 5, `in flight at most: ${side.maxInFlight}`);
    assert.equal(side.store.complete, true);
    assert.ok((await readFile(side.target.path)).equals(image));
    assert.equal(server.bytesServed, wireBytes(manifest));
  });

  test('a window of 1 still fetches everything, one request at a time', async () => {
    const { port } = await startServer();
    const side = await newSide();
    const result = await fetchFrom(port, side, { window: 1 });
    assert.equal(result.error, null);
    assert.ok(side.maxInFlight <= 2, 'one GET, and at most one slice being written');
    assert.ok((await readFile(side.target.path)).equals(image));
  });

  test('with a pool of 2 hashing threads, slices are verified two at a time and written exactly; memory stays bounded', async () => {
    const pool = new DigestPool(2);
    try {
      const { port } = await startServer((s) => new CorruptingSliceSource(s, { once: [6] }));
      const side = await newSide();
      const result = await fetchFrom(port, side, { digest: pool.digest, verifiers: 2 });
      assert.equal(result.error, null);
      assert.deepEqual(result.badSlices, [6], 'a bad slice is still caught');
      assert.equal(result.slices, nonZero().length);
      assert.equal(result.bytes, wireBytes(manifest));
      assert.deepEqual(
        [...side.verified].sort((a, b) => a - b),
        nonZero(),
      );
      // The 4 GETs, plus at most two slices taken in (being verified, or one verified being written).
      assert.ok(side.maxInFlight <= 6, `in flight at most: ${side.maxInFlight}`);
      assert.ok((await readFile(side.target.path)).equals(image));
    } finally {
      await pool.close();
    }
  });

  test('a slice corrupted once is reported in badSlices, fetched again, and the final data is exact', async () => {
    const { port } = await startServer((s) => new CorruptingSliceSource(s, { once: [2] }));
    const side = await newSide();
    const result = await fetchFrom(port, side);
    assert.equal(result.error, null);
    assert.deepEqual(result.badSlices, [2]);
    assert.equal(side.requested.filter((i) => i === 2).length, 2, 'slice 2 was requested twice');
    assert.equal(side.verified.filter((i) => i === 2).length, 1, 'slice 2 was verified once, on the second try');
    assert.equal(result.slices, nonZero().length);
    assert.equal(side.store.complete, true);
    assert.ok((await readFile(side.target.path)).equals(image));
  });

  test('a server that corrupts every 2nd slice is given up with ERR_SERVER_BAD, keeping only good slices', async () => {
    const { port } = await startServer((s) => new CorruptingSliceSource(s, { every: 2 }));
    const side = await newSide();
    const result = await fetchFrom(port, side);
    assert.equal(result.error?.code, 'ERR_SERVER_BAD');
    assert.equal(result.badSlices.length, 3, 'default maxBadSlices is 3');
    for (const i of result.badSlices) assert.equal(i % 2, 1, `slice ${i} is not one the server corrupts`);
    for (const i of side.verified) assert.equal(i % 2, 0, `corrupted slice ${i} was accepted`);
    assert.equal(side.store.complete, false);
    await assertHeldSlicesExact(side);
    assertMissingStillQueued(side);
  });

  test('maxBadSlices sets how many bad slices a server is allowed', async () => {
    const { port } = await startServer((s) => new CorruptingSliceSource(s, { every: 2 }));
    const side = await newSide();
    const result = await fetchFrom(port, side, { maxBadSlices: 1 });
    assert.equal(result.error?.code, 'ERR_SERVER_BAD');
    assert.deepEqual(result.badSlices, [1]);
    assertMissingStillQueued(side);
  });

  test('a server closed mid-transfer ends it with ERR_SERVER_LOST; verified slices stay verified', async () => {
    const { server, port } = await startServer();
    const side = await newSide();
    let closing: Promise<void> | undefined;
    const result = await fetchFrom(port, side, {
      afterVerified: () => {
        if (side.verified.length === 3) closing = server.close();
      },
    });
    await closing;
    assert.equal(result.error?.code, 'ERR_SERVER_LOST');
    assert.ok(result.slices >= 3, `only ${result.slices} slices`);
    assert.ok(result.slices < nonZero().length, 'the transfer should not have finished');
    assert.equal(side.store.heldSlices, result.slices + ZERO.size);
    for (const i of side.verified) assert.equal(side.store.has(i), true);
    await assertHeldSlicesExact(side);
    assertMissingStillQueued(side);

    // A new server picks up where the lost one stopped: only the missing slices are fetched.
    const before = side.verified.length;
    side.store.resetQueue();
    const { port: port2 } = await startServer();
    const again = await fetchFrom(port2, side);
    assert.equal(again.error, null);
    assert.equal(again.slices, nonZero().length - before);
    assert.equal(side.store.complete, true);
    assert.ok((await readFile(side.target.path)).equals(image));
  });

  test('a server that accepts and says nothing is lost with ERR_SERVER_LOST within the stall timeout', async () => {
    const raw = createServer((socket) => {
      rawSockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => rawSockets.delete(socket));
    });
    rawServers.push(raw);
    await new Promise<void>((resolve) => raw.listen(0, HOST, () => resolve()));
    const { port } = raw.address() as AddressInfo;
    const side = await newSide();
    const started = performance.now();
    const result = await fetchFrom(port, side, { stallTimeoutMs: 300 });
    const elapsed = performance.now() - started;
    assert.equal(result.error?.code, 'ERR_SERVER_LOST');
    assert.ok(elapsed >= 280, `gave up after only ${elapsed.toFixed(0)} ms`);
    assert.ok(elapsed < 2000, `gave up after ${elapsed.toFixed(0)} ms`);
    assert.equal(result.slices, 0);
    assert.deepEqual(side.requested, [], 'nothing is requested before WELCOME');
  });

  test('a refused ticket ends the transfer with ERR_SERVER_REFUSED, the server’s ERR_TICKET_INVALID as remoteCode', async () => {
    const { port } = await startServer();
    const side = await newSide();
    const result = await fetchFrom(port, side, { ticket: ticket(newTicketKey()) });
    assert.equal(result.error?.code, 'ERR_SERVER_REFUSED');
    assert.equal(result.error?.remoteCode, 'ERR_TICKET_INVALID');
    assert.equal(result.slices, 0);
    assert.deepEqual(side.requested, []);
  });

  test('a server that refuses the connection is unreachable (ERR_SERVER_UNREACHABLE), a network fault', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, HOST, () => resolve()));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const side = await newSide();
    const result = await fetchFrom(port, side);
    assert.equal(result.error?.code, 'ERR_SERVER_UNREACHABLE');
    assert.match(result.error.message, /ECONNREFUSED/);
    assert.equal(result.slices, 0);
  });

  test('a server that never accepts is unreachable after the connect timeout, not after the stall timeout', async (t) => {
    // A listener that never accepts (backlog 0, full): further SYNs go unanswered, as with a dark host.
    const script = [
      'import socket,sys,time',
      's=socket.socket();s.bind((sys.argv[1],0));s.listen(0)',
      'print(s.getsockname()[1],flush=True)',
      'c=[socket.create_connection(s.getsockname(),timeout=2)]',
      'print("full",flush=True);time.sleep(30)',
    ].join('\n');
    const { spawn } = await import('node:child_process');
    const py = spawn('python3', ['-c', script, HOST], { stdio: ['ignore', 'pipe', 'ignore'] });
    const ready = await new Promise<number | null>((resolve) => {
      let out = '';
      py.on('error', () => resolve(null));
      py.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('full')) resolve(Number(out.split('\n')[0]));
      });
      setTimeout(() => resolve(null), 5000);
    });
    t.after(() => void py.kill('SIGKILL'));
    if (ready === null) return t.skip('python3 is not available to hold a full listen queue');
    const started = Date.now();
    const result = await fetchFrom(ready, await newSide(), { connectTimeoutMs: 300, stallTimeoutMs: 20_000 });
    assert.equal(result.error?.code, 'ERR_SERVER_UNREACHABLE');
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  });

  test('when next() has nothing to ask for, the transfer ends cleanly with no slices', async () => {
    const { port } = await startServer();
    const side = await newSide();
    const result = await fetchFrom(port, side, { next: () => undefined });
    assert.equal(result.error, null);
    assert.equal(result.slices, 0);
  });

  test('a failing write puts the slice back and ends the transfer with the write error', async () => {
    const { port } = await startServer();
    const side = await newSide();
    const result = await fetchFrom(port, side, {
      onVerified: async (i) => {
        if (i === 1) throw new Error('disk on fire');
        side.store.markHeld(i);
        side.verified.push(i);
      },
    });
    assert.equal(result.error?.code, 'ERR_TARGET_UNUSABLE');
    assert.equal(side.store.has(1), false);
    assertMissingStillQueued(side);
  });
  test('a server ERROR code no server may send (ERR_TARGET_UNUSABLE) is never taken as ours', async () => {
    const port = await rawServer((socket) => socket.end(encodeError('ERR_TARGET_UNUSABLE', 'your disk is broken')));
    const side = await newSide();
    const result = await fetchFrom(port, side);
    assert.equal(result.error?.code, 'ERR_SERVER_REFUSED');
    assert.equal(result.error?.remoteCode, undefined);
    assert.match(result.error?.message ?? '', /ERR_TARGET_UNUSABLE/);
  });

  test('a full server is a refusal with remoteCode ERR_SERVER_FULL', async () => {
    const port = await rawServer((socket) => socket.end(encodeError('ERR_SERVER_FULL', 'serving 2 clients')));
    const side = await newSide();
    const result = await fetchFrom(port, side);
    assert.equal(result.error?.code, 'ERR_SERVER_REFUSED');
    assert.equal(result.error?.remoteCode, 'ERR_SERVER_FULL');
  });

  test('an abort mid-transfer ends it with ERR_STOPPED; written slices count, the rest goes back to the queue', async () => {
    const { port } = await startServer();
    const side = await newSide();
    const stop = new AbortController();
    const result = await fetchFrom(port, side, {
      window: 1,
      signal: stop.signal,
      afterVerified: () => {
        if (side.verified.length === 2) stop.abort();
      },
    });
    assert.equal(result.error?.code, 'ERR_STOPPED');
    assert.equal(result.slices, side.verified.length);
    assert.ok(result.slices >= 2 && result.slices < nonZero().length, `${result.slices} slices`);
    await assertHeldSlicesExact(side);
    assertMissingStillQueued(side);
  });
});

/** A raw TCP server on HOST that hands each connection to `onSocket`; resolves with its port. */
async function rawServer(onSocket: (s: Socket) => void): Promise<number> {
  const raw = createServer((socket) => {
    rawSockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => rawSockets.delete(socket));
    onSocket(socket);
  });
  rawServers.push(raw);
  await new Promise<void>((resolve) => raw.listen(0, HOST, () => resolve()));
  return (raw.address() as AddressInfo).port;
}
