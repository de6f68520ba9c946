import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import msgpack from 'msgpack-lite';
import { CascadeError } from '../src/errors.js';
import { silentLogger } from '../src/logger.js';
import { buildManifest } from '../src/manifest/build-manifest.js';
import { MIN_SLICE_SIZE, sliceLength, type Manifest } from '../src/manifest/manifest.js';
import {
  decodeErrorBody,
  encodeBye,
  encodeGet,
  encodeHeader,
  encodeHello,
  FrameDecoder,
  FrameFlags,
  framePayload,
  FrameType,
  HEADER_BYTES,
  type Frame,
} from '../src/protocol/data-frames.js';
import { newTicketKey, signTicket, verifyTicket, type TicketClaims } from '../src/protocol/ticket.js';
import { RateLimiter } from '../src/data/rate-limiter.js';
import { SliceServer, type ClientStats, type SliceServerOptions } from '../src/data/slice-server.js';
import { FileSliceSource } from '../src/data/slice-source.js';
import { noise } from './fixtures.js';

const HOST = '127.0.3.1';
const S = MIN_SLICE_SIZE;
const SESSION = 'lab-a';
const SERVER_ID = 'seeder-1';
/** Slice 2 is all zeros; slice 6 is short (5000 bytes). */
const ZERO_SLICE = 2;
const LENGTHS = [S, S, S, S, S, S, 5000];

let dir: string;
let image: Buffer;
let manifest: Manifest;
let fh: FileHandle;
const key = newTicketKey();
const servers: SliceServer[] = [];
const sockets: Socket[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-slice-server-test-'));
  image = Buffer.concat(LENGTHS.map((len, i) => (i === ZERO_SLICE ? Buffer.alloc(len) : noise(len, 100 + i))));
  const path = join(dir, 'lab.img');
  await writeFile(path, image);
  manifest = await buildManifest(path, { sliceSize: S });
  fh = await open(path, 'r');
});

after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => s.close()));
  await fh?.close();
  await rm(dir, { recursive: true, force: true });
});

function ticketFor(client: string, overrides: Partial<TicketClaims> = {}, k: Uint8Array = key): string {
  return signTicket(
    {
      session: SESSION,
      imageId: manifest.imageId,
      client,
      server: SERVER_ID,
      expires: Date.now() + 60_000,
      ...overrides,
    },
    k,
  );
}

async function startServer(options: Partial<SliceServerOptions> = {}): Promise<{ server: SliceServer; port: number }> {
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
    capacity: 2,
    host: HOST,
    port: 0,
    ...options,
  });
  servers.push(server);
  const { host, port } = await server.listen();
  assert.equal(host, HOST);
  assert.ok(port > 0);
  return { server, port };
}

/** A raw client: sends bytes, hands out decoded frames in order, and says when the server closed. */
class RawClient {
  readonly socket: Socket;
  readonly frames: Frame[] = [];
  bytesReceived = 0;
  readonly closed: Promise<void>;
  private readonly decoder = new FrameDecoder({
    maxSliceBytes: S,
    accept: [FrameType.WELCOME, FrameType.SLICE, FrameType.ERROR],
  });
  private waiters: Array<() => void> = [];

  constructor(port: number) {
    this.socket = connect({ host: HOST, port });
    sockets.push(this.socket);
    this.socket.on('data', (chunk: Buffer) => {
      this.bytesReceived += chunk.length;
      this.frames.push(...this.decoder.push(chunk));
      const w = this.waiters;
      this.waiters = [];
      for (const fn of w) fn();
    });
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    void this.closed.then(() => this.waiters.forEach((fn) => fn()));
  }

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  hello(client: string, ticket = ticketFor(client)): Buffer {
    return encodeHello({ session: SESSION, imageId: manifest.imageId, ticket, client });
  }

  /** Wait until `n` frames arrived (or the connection closed), within `ms`. */
  async waitFrames(n: number, ms = 15_000): Promise<Frame[]> {
    const deadline = Date.now() + ms;
    let isClosed = false;
    void this.closed.then(() => (isClosed = true));
    while (this.frames.length < n) {
      if (isClosed) break;
      if (Date.now() > deadline) throw new Error(`only ${this.frames.length} of ${n} frames arrived`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.frames.slice(0, n);
  }

  /** Wait for the server to close the connection, within `ms`. */
  async waitClosed(ms = 15_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.closed,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('server did not close the connection')), ms);
      }),
    ]);
    clearTimeout(timer);
  }
}

function expectError(f: Frame | undefined, code: string): void {
  assert.ok(f, 'expected an ERROR frame');
  assert.equal(f.type, FrameType.ERROR, `expected an ERROR frame, got type ${f.type}`);
  assert.equal(decodeErrorBody(f).code, code);
}

function expectSlice(f: Frame | undefined, index: number): void {
  assert.ok(f, `expected SLICE ${index}`);
  assert.equal(f.type, FrameType.SLICE);
  assert.equal(f.index, index);
  const want = image.subarray(index * S, index * S + sliceLength(manifest, index));
  assert.equal(f.flags, 0);
  assert.equal(f.length, want.length);
  assert.ok(framePayload(f).equals(want), `slice ${index} bytes differ from the file`);
}

describe('SliceServer', () => {
  test('a GET with no HELLO gets an ERROR frame ERR_HELLO_REQUIRED and the connection is closed', async () => {
    const { port } = await startServer();
    const c = new RawClient(port);
    c.send(encodeGet(0));
    await c.waitClosed();
    assert.equal(c.frames.length, 1);
    expectError(c.frames[0], 'ERR_HELLO_REQUIRED');
  });

  test('a bad ticket gets ERR_TICKET_INVALID and not one slice byte, even with GETs pipelined behind it', async () => {
    const { server, port } = await startServer();
    const bad = [
      ticketFor('p1', {}, newTicketKey()),
      ticketFor('p1', { expires: Date.now() - 1 }),
      ticketFor('p1', { server: 'someone-else' }),
      ticketFor('p1', { imageId: 'ffffffffffffffffffffffffffffffff' }),
      ticketFor('p1', { session: 'lab-b' }),
      'garbage',
    ];
    for (const ticket of bad) {
      const c = new RawClient(port);
      c.send(c.hello('p1', ticket), encodeGet(0), encodeGet(1));
      await c.waitClosed();
      assert.equal(c.frames.length, 1, `ticket ${ticket.slice(0, 20)}`);
      expectError(c.frames[0], 'ERR_TICKET_INVALID');
      assert.equal(c.bytesReceived, HEADER_BYTES + c.frames[0]!.length, 'only the ERROR frame crossed the wire');
    }
    assert.equal(server.bytesServed, 0);
    assert.equal(server.activeClients, 0);
  });

  test('a ticket issued to another client is refused with ERR_TICKET_INVALID', async () => {
    const { port } = await startServer();
    const c = new RawClient(port);
    c.send(c.hello('p2', ticketFor('p1')), encodeGet(0));
    await c.waitClosed();
    assert.equal(c.frames.length, 1);
    expectError(c.frames[0], 'ERR_TICKET_INVALID');
  });

  test('a HELLO with a body that is not a HELLO gets ERR_FRAME_MALFORMED', async () => {
    const { port } = await startServer();
    const c = new RawClient(port);
    const body = Buffer.from([0x81, 0xa1, 0x78, 0x01]); // msgpack {x: 1}
    c.send(encodeHeader(FrameType.HELLO, 0, body.length), body);
    await c.waitClosed();
    expectError(c.frames[0], 'ERR_FRAME_MALFORMED');
  });

  test('with capacity 1 a second client gets ERR_SERVER_FULL, and the slot is freed when the first leaves', async () => {
    const { server, port } = await startServer({ capacity: 1 });
    const joined: string[] = [];
    const left: Array<[string, string]> = [];
    server.on('client-joined', (s: ClientStats) => joined.push(s.client));
    server.on('client-left', (s: ClientStats, reason: string) => left.push([s.client, reason]));

    const first = new RawClient(port);
    first.send(first.hello('p1'));
    const [welcome] = await first.waitFrames(1);
    assert.equal(welcome?.type, FrameType.WELCOME);
    assert.equal(server.activeClients, 1);

    const second = new RawClient(port);
    second.send(second.hello('p2'), encodeGet(0));
    await second.waitClosed();
    assert.equal(second.frames.length, 1);
    expectError(second.frames[0], 'ERR_SERVER_FULL');
    assert.equal(server.activeClients, 1);

    const leftOnce = once(server, 'client-left');
    first.send(encodeBye());
    await leftOnce;
    assert.equal(server.activeClients, 0);
    assert.deepEqual(left, [['p1', 'bye']]);

    const third = new RawClient(port);
    third.send(third.hello('p3'), encodeGet(0));
    const frames = await third.waitFrames(2);
    assert.equal(frames[0]?.type, FrameType.WELCOME);
    expectSlice(frames[1], 0);
    assert.deepEqual(joined, ['p1', 'p3']);
  });

  test('pipelined GETs are answered in request order with the bytes of the file', async () => {
    const { server, port } = await startServer();
    const c = new RawClient(port);
    const order = [5, 0, 3, 6, 1, 4, 0];
    c.send(c.hello('p1'), ...order.map((i) => encodeGet(i)));
    const frames = await c.waitFrames(1 + order.length);
    assert.equal(frames[0]?.type, FrameType.WELCOME);
    order.forEach((index, k) => expectSlice(frames[k + 1], index));
    const expectedBytes = order.reduce((sum, i) => sum + sliceLength(manifest, i), 0);
    assert.equal(server.bytesServed, expectedBytes);
    const stats = server.clientStats();
    assert.equal(stats.length, 1);
    assert.equal(stats[0]?.client, 'p1');
    assert.equal(stats[0]?.slices, order.length);
    assert.equal(stats[0]?.bytes, expectedBytes);
  });

  test('the short last slice is sent with its real length', async () => {
    const { port } = await startServer();
    const c = new RawClient(port);
    c.send(c.hello('p1'), encodeGet(6));
    const frames = await c.waitFrames(2);
    expectSlice(frames[1], 6);
    assert.equal(frames[1]?.length, 5000);
  });

  test('a zero slice is answered with the ZERO flag and no payload, and the next answer follows intact', async () => {
    const { server, port } = await startServer();
    const c = new RawClient(port);
    c.send(c.hello('p1'), encodeGet(ZERO_SLICE), encodeGet(3));
    const frames = await c.waitFrames(3);
    const zero = frames[1];
    assert.ok(zero);
    assert.equal(zero.type, FrameType.SLICE);
    assert.equal(zero.index, ZERO_SLICE);
    assert.equal(zero.flags & FrameFlags.ZERO, FrameFlags.ZERO);
    assert.equal(zero.length, 0);
    expectSlice(frames[2], 3);
    assert.equal(server.bytesServed, S, 'the zero slice cost no payload bytes');
    assert.equal(c.bytesReceived, 3 * HEADER_BYTES + S);
  });

  test('an out-of-range index gets ERR_SLICE_OUT_OF_RANGE and a close', async () => {
    const { port } = await startServer();
    for (const index of [manifest.digests.length, 0xffff_ffff]) {
      const c = new RawClient(port);
      c.send(c.hello('p1'), encodeGet(index));
      await c.waitClosed();
      assert.equal(c.frames[0]?.type, FrameType.WELCOME);
      expectError(c.frames.at(-1), 'ERR_SLICE_OUT_OF_RANGE');
      assert.equal(c.frames.filter((f) => f.type === FrameType.SLICE).length, 0);
    }
  });

  test('garbage bytes get an ERROR frame and a close, and the server keeps serving a good client', async () => {
    const { server, port } = await startServer();
    const bad = new RawClient(port);
    bad.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await bad.waitClosed();
    assert.equal(bad.frames.length, 1);
    expectError(bad.frames[0], 'ERR_FRAME_MALFORMED');

    const admittedBad = new RawClient(port);
    admittedBad.send(admittedBad.hello('p9'));
    await admittedBad.waitFrames(1);
    admittedBad.send(Buffer.alloc(32, 0xee));
    await admittedBad.waitClosed();
    expectError(admittedBad.frames.at(-1), 'ERR_FRAME_MALFORMED');

    const good = new RawClient(port);
    good.send(good.hello('p1'), ...[0, 1, 3, 4, 5, 6].map((i) => encodeGet(i)));
    const frames = await good.waitFrames(7);
    [0, 1, 3, 4, 5, 6].forEach((index, k) => expectSlice(frames[k + 1], index));
    assert.equal(server.activeClients, 1);
  });

  test('a GET with a payload gets ERR_FRAME_TOO_LARGE and a close', async () => {
    const { port } = await startServer();
    const c = new RawClient(port);
    c.send(c.hello('p1'), encodeHeader(FrameType.GET, 0, 4), Buffer.alloc(4));
    await c.waitClosed();
    expectError(c.frames.at(-1), 'ERR_FRAME_TOO_LARGE');
  });

  test('a second HELLO on an admitted connection gets ERR_FRAME_MALFORMED', async () => {
    const { port } = await startServer();
    const c = new RawClient(port);
    c.send(c.hello('p1'), c.hello('p1'));
    await c.waitClosed();
    assert.equal(c.frames[0]?.type, FrameType.WELCOME);
    expectError(c.frames.at(-1), 'ERR_FRAME_MALFORMED');
  });

  test('a connection that never says HELLO gets ERR_HELLO_TIMEOUT', async () => {
    const { port } = await startServer({ helloTimeoutMs: 150 });
    const c = new RawClient(port);
    const started = Date.now();
    await c.waitClosed();
    assert.ok(Date.now() - started >= 100);
    expectError(c.frames[0], 'ERR_HELLO_TIMEOUT');
  });

  test('a client reconnecting with the same id replaces its old connection instead of being refused', async () => {
    const { server, port } = await startServer({ capacity: 1 });
    const old = new RawClient(port);
    old.send(old.hello('p1'));
    await old.waitFrames(1);
    const fresh = new RawClient(port);
    fresh.send(fresh.hello('p1'), encodeGet(0));
    const frames = await fresh.waitFrames(2);
    assert.equal(frames[0]?.type, FrameType.WELCOME);
    expectSlice(frames[1], 0);
    await old.waitClosed();
    expectError(old.frames.at(-1), 'ERR_SERVER_LOST');
    assert.equal(server.activeClients, 1);
  });

  test('close ends every connection and stops listening', async () => {
    const { server, port } = await startServer();
    const c = new RawClient(port);
    c.send(c.hello('p1'));
    await c.waitFrames(1);
    await server.close();
    await c.waitClosed();
    const late = connect({ host: HOST, port });
    sockets.push(late);
    const [err] = (await once(late, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNREFUSED');
  });

  test('a slice the source does not hold gets ERR_SLICE_UNAVAILABLE after the slices before it', async () => {
    const { port } = await startServer({ source: new FileSliceSource(manifest, fh, (i) => i !== 3) });
    const c = new RawClient(port);
    c.send(c.hello('p1'), encodeGet(1), encodeGet(3), encodeGet(4));
    await c.waitClosed();
    assert.equal(c.frames[0]?.type, FrameType.WELCOME);
    expectSlice(c.frames[1], 1);
    expectError(c.frames[2], 'ERR_SLICE_UNAVAILABLE');
    assert.equal(c.frames.length, 3);
  });

  test('a client with more GETs outstanding than allowed gets ERR_TOO_MANY_REQUESTS', async () => {
    // 200 kB/s with a 64 KiB burst: slice 0 passes at once, slice 1 waits ~330 ms, so GETs pile up.
    const { port } = await startServer({ maxOutstanding: 2, rateLimiter: new RateLimiter(200_000, S) });
    const c = new RawClient(port);
    c.send(c.hello('p1'));
    await c.waitFrames(1);
    c.send(...[0, 1, 3, 5, 6, 7, 8, 10].map((i) => encodeGet(i)));
    await c.waitClosed();
    expectError(c.frames.at(-1), 'ERR_TOO_MANY_REQUESTS');
    assert.ok(c.frames.filter((f) => f.type === FrameType.SLICE).length <= 2);
  });

  test('a shared rate limiter slows the server down to its rate', async () => {
    // 1 MB/s with a 64 KiB burst: 4 full slices (256 KiB) need at least ~190 ms past the burst.
    const { port } = await startServer({ rateLimiter: new RateLimiter(1_000_000, S) });
    const c = new RawClient(port);
    const started = performance.now();
    c.send(c.hello('p1'), encodeGet(0), encodeGet(1), encodeGet(3), encodeGet(4));
    const frames = await c.waitFrames(5);
    const elapsed = performance.now() - started;
    [0, 1, 3, 4].forEach((index, k) => expectSlice(frames[k + 1], index));
    assert.ok(elapsed >= 180, `took only ${elapsed.toFixed(0)} ms`);
    assert.ok(elapsed < 2000, `took ${elapsed.toFixed(0)} ms`);
  });
});

describe('RateLimiter', () => {
  /** A clock the test moves by hand; sleeps still use real time, so amounts are kept small. */
  function manualClock(): { now: () => number; advance: (ms: number) => void } {
    let t = 0;
    return { now: () => t, advance: (ms) => (t += ms) };
  }
  async function timed(p: Promise<void>): Promise<number> {
    const start = performance.now();
    await p;
    return performance.now() - start;
  }

  test('takes within the burst resolve at once', async () => {
    const clock = manualClock();
    const rl = new RateLimiter(1_000_000, 100_000, clock.now);
    const ms = await timed(Promise.all([rl.take(40_000), rl.take(60_000)]).then(() => undefined));
    assert.ok(ms < 50, `took ${ms.toFixed(0)} ms`);
  });

  test('a take past the burst waits until the debt is paid at the configured rate', async () => {
    const clock = manualClock();
    const rl = new RateLimiter(1_000_000, 100_000, clock.now);
    await rl.take(100_000);
    const ms = await timed(rl.take(100_000)); // 100 kB of debt at 1 MB/s: 100 ms
    assert.ok(ms >= 95, `waited only ${ms.toFixed(0)} ms`);
    assert.ok(ms < 600, `waited ${ms.toFixed(0)} ms`);
  });

  test('tokens refill with the clock', async () => {
    const clock = manualClock();
    const rl = new RateLimiter(1_000_000, 100_000, clock.now);
    await rl.take(100_000);
    clock.advance(100); // 100 ms at 1 MB/s refills 100 kB
    const ms = await timed(rl.take(100_000));
    assert.ok(ms < 50, `took ${ms.toFixed(0)} ms`);
  });

  test('an idle limiter refills only up to its burst', async () => {
    const clock = manualClock();
    const rl = new RateLimiter(1_000_000, 100_000, clock.now);
    clock.advance(60_000); // a minute idle would be 60 MB without the cap
    const ms = await timed(rl.take(160_000)); // 60 kB past the burst: 60 ms
    assert.ok(ms >= 55, `waited only ${ms.toFixed(0)} ms: the refill was not capped at the burst`);
    assert.ok(ms < 600, `waited ${ms.toFixed(0)} ms`);
  });

  test('takes are served in the order they were asked for', async () => {
    const clock = manualClock();
    const rl = new RateLimiter(1_000_000, 10_000, clock.now);
    const order: number[] = [];
    await Promise.all([1, 2, 3, 4].map((n) => rl.take(15_000).then(() => order.push(n))));
    assert.deepEqual(order, [1, 2, 3, 4]);
  });

  test('the default burst is at least 64 KiB, so one default slice of that size passes at once', async () => {
    const rl = new RateLimiter(1000);
    const ms = await timed(rl.take(64 * 1024));
    assert.ok(ms < 50, `took ${ms.toFixed(0)} ms`);
    assert.equal(rl.bytesPerSecond, 1000);
  });
});

test('a CascadeError thrown by authorize is what the client sees', async () => {
  const { port } = await startServer({
    authorize: () => {
      throw new CascadeError('ERR_SESSION_ENDED', 'the session has ended');
    },
  });
  const c = new RawClient(port);
  c.send(c.hello('p1'));
  await c.waitClosed();
  expectError(c.frames[0], 'ERR_SESSION_ENDED');
});

describe('data-plane tickets: each refusal has its code and not one image byte crosses the wire', () => {
  /** Send HELLO (+ pipelined GETs), expect exactly one ERROR frame with `code`, and 0 bytes served. */
  async function refused(helloFrame: Buffer, code: string): Promise<void> {
    const { server, port } = await startServer();
    const c = new RawClient(port);
    c.send(helloFrame, encodeGet(0), encodeGet(1));
    await c.waitClosed();
    assert.equal(c.frames.length, 1);
    expectError(c.frames[0], code);
    assert.equal(c.bytesReceived, HEADER_BYTES + c.frames[0]!.length, 'only the ERROR frame crossed the wire');
    assert.equal(server.bytesServed, 0);
    assert.equal(server.activeClients, 0);
  }
  const helloWith = (ticket: string, client = 'p1'): Buffer =>
    encodeHello({ session: SESSION, imageId: manifest.imageId, ticket, client });

  test('no ticket (empty) is refused with ERR_TICKET_INVALID', async () => {
    await refused(helloWith(''), 'ERR_TICKET_INVALID');
  });

  test('a HELLO without a ticket field is refused with ERR_FRAME_MALFORMED', async () => {
    const body = msgpack.encode({ session: SESSION, imageId: manifest.imageId, client: 'p1' });
    await refused(Buffer.concat([encodeHeader(FrameType.HELLO, 0, body.length), body]), 'ERR_FRAME_MALFORMED');
  });

  test('an expired ticket is refused with ERR_TICKET_INVALID', async () => {
    await refused(helloWith(ticketFor('p1', { expires: Date.now() - 1 })), 'ERR_TICKET_INVALID');
  });

  test('a ticket for another server is refused with ERR_TICKET_INVALID', async () => {
    await refused(helloWith(ticketFor('p1', { server: 'peer-elsewhere' })), 'ERR_TICKET_INVALID');
  });

  test('a ticket for this server signed with another server key is refused with ERR_TICKET_INVALID', async () => {
    await refused(helloWith(ticketFor('p1', {}, newTicketKey())), 'ERR_TICKET_INVALID');
  });

  test('a valid ticket presented by another client is refused with ERR_TICKET_INVALID', async () => {
    await refused(helloWith(ticketFor('p1'), 'p2'), 'ERR_TICKET_INVALID');
  });
});
