import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  buildManifest,
  encodeSliceHeader,
  encodeWelcome,
  FrameDecoder,
  FrameType,
  newTicketKey,
  signTicket,
  silentLogger,
  sliceLength,
  type Manifest,
} from '@cascade/common';
import { noise } from '../../../common/test/fixtures.js';
import { PeerServing } from '../../src/serve/peer-serving.js';
import { fetchSlices, type SliceFetchResult } from '../../src/fetch/slice-client.js';
import { SliceStore } from '../../src/slices/slice-store.js';
import { openTarget, writeSlice, type OpenedTarget } from '../../src/target/target.js';

// A relay in process, between a scripted upstream and a real downstream slice client: the relay
// forwards a slice while it is still receiving it (cut-through), and still verifies it itself.

const UPSTREAM_HOST = '127.0.3.70';
const RELAY_HOST = '127.0.3.71';
const MiB = 1024 * 1024;
const SLICES = 4;
const SESSION = 'lab-cut';
const key = newTicketKey();

let dir: string;
let image: Buffer;
let manifest: Manifest;
const cleanups: Array<() => Promise<unknown>> = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-cut-through-'));
  image = noise(SLICES * MiB, 77);
  await writeFile(join(dir, 'image.img'), image);
  manifest = await buildManifest(join(dir, 'image.img'), { sliceSize: MiB });
});

after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

const sliceOf = (i: number): Buffer => image.subarray(i * MiB, i * MiB + sliceLength(manifest, i));

/** Poll `pred` every 5 ms for at most `ms`; true once it holds. */
async function until(pred: () => boolean, ms = 10_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return pred();
}

/** How an upstream answers one GET: the default sends the whole slice at once. */
type Answer = (index: number, socket: Socket, body: Buffer) => Promise<void>;
const whole: Answer = (index, socket, body) => {
  socket.write(encodeSliceHeader(index, body.length));
  socket.write(body);
  return Promise.resolve();
};

/** A scripted slice server: WELCOME to any HELLO, then each GET answered in order by `answer`. */
async function upstream(answer: Answer): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    const decoder = new FrameDecoder({ maxSliceBytes: 0, accept: [FrameType.HELLO, FrameType.GET, FrameType.BYE] });
    let chain = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        if (f.type === FrameType.HELLO) socket.write(encodeWelcome());
        if (f.type === FrameType.GET) chain = chain.then(() => answer(f.index, socket, sliceOf(f.index)));
        if (f.type === FrameType.BYE) socket.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, UPSTREAM_HOST, r));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as AddressInfo).port;
}

/** A relaying peer: its store, target, slice server (relay mode), and a way to fetch from an upstream. */
async function relay(
  name: string,
  relayWaitMs = 10_000,
): Promise<{
  store: SliceStore;
  target: OpenedTarget;
  name: string;
  port: number;
  fetchFrom: (port: number) => Promise<SliceFetchResult>;
}> {
  const store = new SliceStore(manifest);
  store.resetQueue();
  const target = await openTarget(join(dir, `${name}.img`), manifest);
  cleanups.push(() => target.fh.close());
  const serving = new PeerServing({
    logger: silentLogger(),
    serverId: name,
    session: SESSION,
    listen: { host: RELAY_HOST, port: 0 },
    relayWaitMs,
    onClientLeft: () => undefined,
  });
  serving.ticketKey = key;
  cleanups.push(() => serving.close());
  const write = (i: number, chunks: Buffer[]): Promise<void> => writeSlice(target, i * MiB, chunks);
  await serving.start({
    relay: true,
    capacity: 1,
    store,
    manifest,
    target: { store, reused: 0, fh: target.fh, write, sync: async () => {}, close: async () => {} },
  });
  const port = serving.offer(undefined)?.port ?? 0;
  const fetchFrom = (up: number): Promise<SliceFetchResult> =>
    fetchSlices({
      logger: silentLogger(),
      manifest,
      server: { id: 'upstream', name: 'upstream', host: UPSTREAM_HOST, port: up },
      ticket: 'unchecked',
      session: SESSION,
      clientId: name,
      window: 2,
      stallTimeoutMs: 10_000,
      connectTimeoutMs: 5000,
      minRate: 64 * 1024,
      next: () => store.next(),
      retry: (i) => store.retry(i),
      onVerified: async (i, chunks) => {
        await write(i, chunks);
        store.markHeld(i);
      },
      sliceBody: store.inflight,
    });
  return { store, target, name, port, fetchFrom };
}

/** A downstream peer fetching every slice from the relay; `got` counts the body bytes seen per slice as they arrive. */
function downstream(relay: { name: string; port: number }, onBytes: (index: number) => void = () => undefined) {
  const store = new SliceStore(manifest);
  store.resetQueue();
  const slices = new Map<number, Buffer>();
  const got = new Map<number, number>();
  const result = fetchSlices({
    logger: silentLogger(),
    manifest,
    server: { id: relay.name, name: relay.name, host: RELAY_HOST, port: relay.port },
    ticket: signTicket(
      { session: SESSION, imageId: manifest.imageId, client: 'down', server: relay.name, expires: Date.now() + 60_000 },
      key,
    ),
    session: SESSION,
    clientId: 'down',
    window: 2,
    stallTimeoutMs: 10_000,
    connectTimeoutMs: 5000,
    minRate: 64 * 1024,
    next: () => store.next(),
    retry: (i) => store.retry(i),
    onVerified: (i, chunks) => {
      slices.set(i, Buffer.concat(chunks));
      store.markHeld(i);
      return Promise.resolve();
    },
    sliceBody: {
      sliceStart: () => undefined,
      sliceData: (i, c) => {
        got.set(i, (got.get(i) ?? 0) + c.length);
        onBytes(i);
      },
    },
  });
  const bytes = async (): Promise<Buffer> => {
    await result;
    return Buffer.concat(Array.from({ length: SLICES }, (_, i) => slices.get(i) ?? Buffer.alloc(0)));
  };
  return { result, got, bytes };
}

describe('relay cut-through (in process, real sockets)', () => {
  test('the downstream receives the first bytes of slice 0 before the relay holds slice 0', async () => {
    let release = (): void => undefined;
    const released = new Promise<void>((r) => (release = r));
    // Slice 0: the first quarter, then nothing until the downstream has seen some of it.
    const port = await upstream(async (index, socket, body) => {
      if (index !== 0) return whole(index, socket, body);
      socket.write(encodeSliceHeader(index, body.length));
      socket.write(body.subarray(0, MiB / 4));
      await Promise.race([released, new Promise((r) => setTimeout(r, 10_000))]);
      socket.write(body.subarray(MiB / 4));
    });
    const r = await relay('relay-lag');
    const relayed = r.fetchFrom(port);
    let relayHeldAtFirstBytes: boolean | null = null;
    let gotAtFirstBytes = 0;
    let inflightAtFirstBytes = 0;
    const down = downstream(r, (i) => {
      if (i !== 0 || relayHeldAtFirstBytes !== null) return;
      relayHeldAtFirstBytes = r.store.has(0);
      gotAtFirstBytes = down.got.get(0) ?? 0;
      inflightAtFirstBytes = r.store.inflight.size;
      release(); // the rest of slice 0 may come now: what follows is checked as it was at this moment
    });
    assert.ok(await until(() => relayHeldAtFirstBytes !== null), 'slice 0 reached the downstream before it was whole');
    assert.equal(relayHeldAtFirstBytes, false, 'the relay did not hold slice 0 yet');
    assert.ok(
      gotAtFirstBytes > 0 && gotAtFirstBytes < MiB,
      `only part of slice 0 had reached the downstream (${gotAtFirstBytes})`,
    );
    assert.equal(inflightAtFirstBytes > 0, true, 'slice 0 was in flight at the relay');
    const [rr, dr] = await Promise.all([relayed, down.result]);
    assert.equal(rr.error, null);
    assert.equal(dr.error, null);
    assert.deepEqual(await down.bytes(), image, 'the downstream is byte-exact');
    assert.equal(r.store.complete, true);
    assert.equal(r.store.inflight.size, 0, 'nothing left referenced once every slice is held');
  });

  test('the relay loses its upstream mid-slice: the forward resumes from the next upstream, the downstream ends byte-exact', async () => {
    let downGot1 = (): number => 0;
    const dying = await upstream(async (index, socket, body) => {
      if (index !== 1) return whole(index, socket, body);
      socket.write(encodeSliceHeader(index, body.length));
      socket.write(body.subarray(0, 300 * 1024));
      await until(() => downGot1() > 0); // the downstream is mid-slice when the upstream dies
      socket.destroy();
    });
    const healthy = await upstream(whole);
    const r = await relay('relay-lost');
    const down = downstream(r);
    downGot1 = () => down.got.get(1) ?? 0;
    const first = await r.fetchFrom(dying);
    assert.equal(first.error?.code, 'ERR_SERVER_LOST');
    const sentBeforeLoss = downGot1();
    assert.ok(
      sentBeforeLoss > 0 && sentBeforeLoss < MiB,
      `the downstream had part of slice 1 (${sentBeforeLoss} bytes)`,
    );
    const second = await r.fetchFrom(healthy);
    assert.equal(second.error, null);
    const dr = await down.result;
    assert.equal(dr.error, null, 'the downstream never saw its server fail');
    assert.deepEqual(dr.badSlices, []);
    assert.equal(down.got.get(1), MiB, 'slice 1 reached the downstream once, no byte twice');
    assert.deepEqual(await down.bytes(), image);
  });

  test('a corrupt slice is forwarded cut-through, caught by the relay and the downstream alike, and both end byte-exact', async () => {
    let downGot1 = (): number => 0;
    let corrupted = false;
    const port = await upstream(async (index, socket, body) => {
      if (index !== 1 || corrupted) return whole(index, socket, body);
      corrupted = true;
      const bad = Buffer.from(body);
      bad[MiB / 2] = (bad[MiB / 2] ?? 0) ^ 0xff;
      socket.write(encodeSliceHeader(index, bad.length));
      socket.write(bad.subarray(0, MiB / 4));
      await until(() => downGot1() > 0); // the downstream is forwarded this reception
      socket.write(bad.subarray(MiB / 4));
    });
    const r = await relay('relay-corrupt');
    const down = downstream(r);
    downGot1 = () => down.got.get(1) ?? 0;
    const [rr, dr] = await Promise.all([r.fetchFrom(port), down.result]);
    assert.deepEqual(rr.badSlices, [1], 'the relay rejected the corrupt slice');
    assert.equal(rr.error, null);
    assert.deepEqual(dr.badSlices, [1], 'the downstream caught the corrupt bytes it was forwarded');
    assert.equal(dr.error, null);
    assert.deepEqual(await down.bytes(), image, 'the downstream re-fetched it and is byte-exact');
  });

  test('a slice that stops arriving mid-forward and never comes back: the client is dropped, not sent a frame mid-slice', async () => {
    const dying = await upstream(async (index, socket, body) => {
      socket.write(encodeSliceHeader(index, body.length));
      socket.write(body.subarray(0, 100 * 1024));
      await new Promise((r) => setTimeout(r, 50));
      socket.destroy();
    });
    const r = await relay('relay-gone', 500);
    const down = downstream(r);
    const first = await r.fetchFrom(dying);
    assert.equal(first.error?.code, 'ERR_SERVER_LOST');
    const dr = await down.result;
    assert.equal(dr.error?.code, 'ERR_SERVER_LOST', 'the connection was dropped mid-slice');
    assert.equal(dr.slices, 0);
    assert.equal(r.store.inflight.size, 0, 'the lost reception is not kept');
  });

  test('a slice that never starts arriving within the relay wait: ERROR ERR_SLICE_UNAVAILABLE, as before', async () => {
    const r = await relay('relay-idle', 300);
    const dr = await downstream(r).result;
    assert.equal(dr.error?.code, 'ERR_SERVER_REFUSED');
    assert.equal(dr.error?.remoteCode, 'ERR_SLICE_UNAVAILABLE');
  });
});
