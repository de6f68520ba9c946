import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/logger.js';
import { buildManifest } from '../src/manifest/build-manifest.js';
import { MIN_SLICE_SIZE, type Manifest } from '../src/manifest/manifest.js';
import {
  decodeErrorBody,
  encodeGet,
  encodeHello,
  FrameDecoder,
  FrameType,
  type Frame,
} from '../src/protocol/data-frames.js';
import { newTicketKey, signTicket, verifyTicket } from '../src/protocol/ticket.js';
import { ConnectionGate } from '../src/data/connection-gate.js';
import { SliceServer, type SliceServerOptions } from '../src/data/slice-server.js';
import { FileSliceSource } from '../src/data/slice-source.js';
import { CascadeError } from '../src/errors.js';
import { noise } from './fixtures.js';

/** The server listens here; attackers and clients connect from their own 127.0.4.x addresses. */
const HOST = '127.0.4.1';
const SESSION = 'lab-limits';
const SERVER_ID = 'seeder-limits';
const key = newTicketKey();
let dir: string;
let manifest: Manifest;
let fh: FileHandle;
const servers: SliceServer[] = [];
const sockets: Socket[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-slice-limits-'));
  const path = join(dir, 'lab.img');
  await writeFile(path, noise(2 * MIN_SLICE_SIZE, 42));
  manifest = await buildManifest(path, { sliceSize: MIN_SLICE_SIZE });
  fh = await open(path, 'r');
});

after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => s.close()));
  await fh?.close();
  await rm(dir, { recursive: true, force: true });
});

async function startServer(o: Partial<SliceServerOptions> = {}): Promise<{ server: SliceServer; port: number }> {
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
    ...o,
  });
  servers.push(server);
  const { port } = await server.listen();
  return { server, port };
}

/** A raw connection from `from`: frames received, when it closed. */
class Conn {
  readonly socket: Socket;
  readonly frames: Frame[] = [];
  closedAt: number | null = null;
  readonly openedAt = Date.now();
  readonly closed: Promise<void>;
  private readonly decoder = new FrameDecoder({
    maxSliceBytes: MIN_SLICE_SIZE,
    accept: [FrameType.WELCOME, FrameType.SLICE, FrameType.ERROR],
  });

  constructor(port: number, from: string) {
    this.socket = connect({ host: HOST, port, localAddress: from });
    sockets.push(this.socket);
    this.socket.on('data', (c: Buffer) => this.frames.push(...this.decoder.push(c)));
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.closedAt = Date.now();
        resolve();
      }),
    );
  }

  connected(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.socket.connecting) return resolve();
      this.socket.once('connect', () => resolve());
      this.socket.once('close', () => resolve());
    });
  }

  helloAndGet(client: string): void {
    const ticket = signTicket(
      { session: SESSION, imageId: manifest.imageId, client, server: SERVER_ID, expires: Date.now() + 60_000 },
      key,
    );
    this.socket.write(
      Buffer.concat([encodeHello({ session: SESSION, imageId: manifest.imageId, ticket, client }), encodeGet(0)]),
    );
  }

  /** Resolves once `pred` holds for the frames, or rejects after `ms`. */
  async until(pred: (f: Frame[]) => boolean, ms = 3000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this.frames)) {
      if (Date.now() > deadline)
        throw new Error(`condition not met; frames: ${this.frames.map((f) => f.type).join(',')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  errorCode(): string | null {
    const e = this.frames.find((f) => f.type === FrameType.ERROR);
    return e ? decodeErrorBody(e).code : null;
  }
}

async function idle(port: number, from: string, n: number): Promise<Conn[]> {
  const conns = Array.from({ length: n }, () => new Conn(port, from));
  await Promise.all(conns.map((c) => c.connected()));
  return conns;
}

function withinMs<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))),
  ]);
}

describe('slice server limits against idle and flooding connections', () => {
  test('20 idle connections from one address: all but capacity + 4 are refused at once with ERR_TOO_MANY_CONNECTIONS, and a real client is served meanwhile', async () => {
    const { server, port } = await startServer({ helloTimeoutMs: 2000 });
    const conns = await idle(port, '127.0.4.10', 20);
    const refused = async (): Promise<number> =>
      conns.filter((c) => c.errorCode() === 'ERR_TOO_MANY_CONNECTIONS').length;
    const deadline = Date.now() + 3000;
    while ((await refused()) < 14 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await refused(), 14, 'capacity 2 + 4 per address are held; the other 14 are refused');
    const real = new Conn(port, '127.0.4.11');
    real.helloAndGet('real-1');
    await real.until((f) => f.some((x) => x.type === FrameType.SLICE));
    assert.equal(server.activeClients, 1, 'only the client with a valid ticket counts against capacity');
  });

  test('a connection that never sends a valid HELLO is closed at the HELLO deadline, counted from when it opened', async () => {
    const { port } = await startServer({ helloTimeoutMs: 300 });
    const [c] = await idle(port, '127.0.4.20', 1);
    // Trickle part of a HELLO: bytes must not extend the deadline.
    const t = setInterval(() => c!.socket.writable && c!.socket.write(Buffer.from([0])), 50);
    try {
      await withinMs(c!.closed, 2000, 'closed');
    } finally {
      clearInterval(t);
    }
    assert.ok(c!.closedAt! - c!.openedAt < 1500, `lived ${c!.closedAt! - c!.openedAt} ms`);
  });

  test('idle connections from many addresses fill the server: the oldest without HELLO is evicted, so a real client still gets in', async () => {
    const { server, port } = await startServer({ maxConnections: 6, helloTimeoutMs: 10_000 });
    const flood: Conn[] = [];
    for (let i = 0; i < 6; i++) flood.push(...(await idle(port, `127.0.4.${30 + i}`, 1)));
    const real = new Conn(port, '127.0.4.50');
    await real.connected();
    real.helloAndGet('real-2');
    await real.until((f) => f.some((x) => x.type === FrameType.SLICE));
    await withinMs(flood[0]!.closed, 2000, 'the oldest idle connection evicted');
    assert.equal(flood[0]!.errorCode(), 'ERR_TOO_MANY_CONNECTIONS');
    assert.equal(server.activeClients, 1);
  });

  test('admitted clients free their address slots and a bad ticket never takes a capacity slot', async () => {
    const { server, port } = await startServer({ capacity: 1 });
    const bad = new Conn(port, '127.0.4.60');
    bad.socket.write(
      encodeHello({ session: SESSION, imageId: manifest.imageId, ticket: 'eyJ4IjoxfQ.AAAA', client: 'x' }),
    );
    await withinMs(bad.closed, 2000, 'bad ticket closed');
    assert.equal(bad.errorCode(), 'ERR_TICKET_INVALID');
    const good = new Conn(port, '127.0.4.60');
    good.helloAndGet('good');
    await good.until((f) => f.some((x) => x.type === FrameType.SLICE));
    assert.equal(server.activeClients, 1);
  });
});

describe('ConnectionGate', () => {
  const conn = (): { aborted: string | null; abort: (e: CascadeError) => void } => {
    const c = { aborted: null as string | null, abort: (e: CascadeError) => void (c.aborted = e.code) };
    return c;
  };

  test('counts per address with IPv4-mapped addresses as IPv4, and frees a slot on leave', () => {
    const gate = new ConnectionGate({ maxConnections: 100, perAddress: 1, capacity: () => 1 });
    const [a, b, c] = [conn(), conn(), conn()];
    assert.equal(gate.enter(a, '10.0.0.1'), true);
    assert.equal(gate.enter(b, '::ffff:10.0.0.1'), true);
    assert.equal(gate.enter(c, '10.0.0.1'), false);
    assert.equal(c.aborted, 'ERR_TOO_MANY_CONNECTIONS');
    gate.leave(a);
    gate.leave(a); // idempotent
    assert.equal(gate.enter(conn(), '10.0.0.1'), true);
    assert.equal(gate.size, 2);
  });

  test('at the total limit a new connection evicts the oldest pending one; with none pending it is refused', () => {
    const gate = new ConnectionGate({ maxConnections: 2, perAddress: 4, capacity: () => 2 });
    const [a, b, c, d] = [conn(), conn(), conn(), conn()];
    gate.enter(a, '10.0.0.1');
    gate.enter(b, '10.0.0.2');
    gate.admitted(b);
    assert.equal(gate.enter(c, '10.0.0.3'), true);
    assert.equal(a.aborted, 'ERR_TOO_MANY_CONNECTIONS', 'the oldest pending one is evicted');
    assert.equal(b.aborted, null, 'an admitted one never is');
    gate.admitted(c);
    assert.equal(gate.enter(d, '10.0.0.4'), false);
    assert.equal(d.aborted, 'ERR_TOO_MANY_CONNECTIONS');
  });
});
