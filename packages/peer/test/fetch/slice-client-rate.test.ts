import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildManifest,
  encodeSliceHeader,
  encodeWelcome,
  FileSliceSource,
  MIN_SLICE_SIZE,
  newTicketKey,
  RateLimiter,
  signTicket,
  silentLogger,
  SliceServer,
  verifyTicket,
  type Manifest,
} from '@cascade/common';
import { fetchSlices, type SliceFetchOptions, type SliceFetchResult } from '../../src/fetch/slice-client.js';
import { RateFloor } from '../../src/fetch/rate-floor.js';
import { SliceStore } from '../../src/slices/slice-store.js';
import { noise } from '../../../common/test/fixtures.js';

const HOST = '127.0.3.7';
const S = MIN_SLICE_SIZE;
const SESSION = 'lab-rate';
const SERVER_ID = 'seeder-rate';
const key = newTicketKey();
let dir: string;
let image: Buffer;
let manifest: Manifest;
let fh: FileHandle;
const closers: Array<() => Promise<void>> = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-slice-rate-'));
  image = noise(8 * S, 77);
  const path = join(dir, 'lab.img');
  await writeFile(path, image);
  manifest = await buildManifest(path, { sliceSize: S });
  fh = await open(path, 'r');
});

after(async () => {
  for (const c of closers) await c();
  await fh?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A hostile server: WELCOME at once, then each requested slice one byte every `intervalMs`. */
async function trickler(intervalMs: number): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.write(encodeWelcome());
    const bytes = Buffer.concat([encodeSliceHeader(0, S), image.subarray(0, S)]);
    let i = 0;
    const t = setInterval(
      () => (i < bytes.length && !s.destroyed ? s.write(bytes.subarray(i, ++i)) : undefined),
      intervalMs,
    );
    s.on('close', () => {
      clearInterval(t);
      sockets.delete(s);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as AddressInfo).port;
}

function fetchFrom(port: number, o: Partial<SliceFetchOptions> = {}): Promise<SliceFetchResult> {
  const store = new SliceStore(manifest);
  store.resetQueue();
  return fetchSlices({
    logger: silentLogger(),
    manifest,
    server: { id: SERVER_ID, name: 'server', host: HOST, port },
    ticket: signTicket(
      { session: SESSION, imageId: manifest.imageId, client: 'c1', server: SERVER_ID, expires: Date.now() + 60_000 },
      key,
    ),
    session: SESSION,
    clientId: 'c1',
    window: 4,
    stallTimeoutMs: 5000,
    connectTimeoutMs: 5000,
    minRate: 64 * 1024,
    next: () => store.next(),
    retry: (i) => store.retry(i),
    onVerified: async (i) => store.markHeld(i),
    ...o,
  });
}

describe('minimum useful rate', () => {
  test('a server trickling a byte every 50 ms is abandoned with ERR_SERVER_TOO_SLOW after the window, although it never stalls', async () => {
    const port = await trickler(50);
    const started = performance.now();
    const r = await fetchFrom(port, { minRate: 64 * 1024, minRateWindowMs: 1000, stallTimeoutMs: 5000 });
    const elapsed = performance.now() - started;
    assert.equal(r.error?.code, 'ERR_SERVER_TOO_SLOW');
    assert.match(r.error?.message ?? '', /below the minimum useful rate/);
    assert.ok(elapsed >= 950, `gave up after only ${elapsed.toFixed(0)} ms`);
    assert.ok(elapsed < 3000, `held for ${elapsed.toFixed(0)} ms`);
    assert.equal(r.slices, 0);
  });

  test('with the floor off (0), only --stall applies: the trickler holds the client past the window', async () => {
    const port = await trickler(50);
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 1500);
    const r = await fetchFrom(port, { minRate: 0, minRateWindowMs: 500, signal: ac.signal });
    clearTimeout(timer);
    assert.equal(r.error?.code, 'ERR_STOPPED', 'the client was still fetching when stopped');
  });

  test('a server rate-capped above the floor is never abandoned: the transfer completes', async () => {
    const server = new SliceServer({
      logger: silentLogger(),
      source: new FileSliceSource(manifest, fh),
      authorize: (hello) =>
        verifyTicket(hello.ticket, key, {
          server: SERVER_ID,
          imageId: manifest.imageId,
          session: SESSION,
          now: Date.now(),
        }),
      capacity: 1,
      host: HOST,
      port: 0,
      rateLimiter: new RateLimiter(256 * 1024, S),
    });
    closers.push(() => server.close());
    const { port } = await server.listen();
    const r = await fetchFrom(port, { minRate: 128 * 1024, minRateWindowMs: 600 });
    assert.equal(r.error, null, r.error?.message);
    assert.equal(r.slices, manifest.digests.length);
  });
});

describe('RateFloor', () => {
  const clock = (): { t: number; now: () => number } => {
    const c = { t: 0, now: () => c.t };
    return c;
  };

  test('below the floor over a full window of waiting: reports the rate', () => {
    const c = clock();
    const f = new RateFloor(1000, 10_000, c.now);
    f.reading(true);
    for (let s = 1; s <= 10; s++) {
      c.t = s * 1000;
      f.received(10);
      const r = f.check();
      if (s < 10) assert.equal(r, null, `tripped after ${s} s`);
      else assert.equal(r, 10);
    }
  });

  test('time not spent waiting (verifying, writing) never counts against the server', () => {
    const c = clock();
    const f = new RateFloor(1000, 10_000, c.now);
    for (let s = 1; s <= 30; s++) {
      f.reading(true);
      c.t += 100;
      f.received(200); // 2000 B/s while waiting
      f.reading(false);
      c.t += 900; // a slow disk: not waiting
      assert.equal(f.check(), null, `tripped at ${s}`);
    }
  });

  test('no byte at all in the window is a stall (left to --stall), not too slow', () => {
    const c = clock();
    const f = new RateFloor(1000, 1000, c.now);
    f.reading(true);
    for (let s = 1; s <= 5; s++) {
      c.t = s * 1000;
      assert.equal(f.check(), null);
    }
  });

  test('a fast start does not hide a trickle later: the window slides', () => {
    const c = clock();
    const f = new RateFloor(1000, 2000, c.now);
    f.reading(true);
    f.received(1_000_000);
    let tripped: number | null = null;
    for (let s = 1; s <= 10 && tripped === null; s++) {
      c.t = s * 500;
      f.received(1);
      if (f.check() !== null) tripped = c.t;
    }
    assert.ok(tripped !== null && tripped <= 3000, `tripped at ${tripped}`);
  });
});
