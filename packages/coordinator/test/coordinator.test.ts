import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  buildManifest,
  decodeCoordinatorMessage,
  encodeControl,
  PROTOCOL_VERSION,
  silentLogger,
  type ClientMessage,
  type CoordinatorMessage,
} from '@cascade/common';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import WebSocket from 'ws';
import { Coordinator } from '../src/coordinator.js';

let coordinator: Coordinator;
let url: string;
let dir: string;

before(async () => {
  coordinator = new Coordinator({
    logger: silentLogger(),
    host: '127.0.4.1',
    port: 0,
    limits: { helloTimeoutMs: 300, maxBadMessages: 3 },
  });
  url = (await coordinator.listen()).url;
  dir = await mkdtemp(join(tmpdir(), 'cascade-coord-'));
});
after(async () => {
  await coordinator.close();
  await rm(dir, { recursive: true, force: true });
});

/** A raw ws client that records every decoded message and the close code. */
class Probe {
  readonly ws: WebSocket;
  readonly messages: CoordinatorMessage[] = [];
  closed: Promise<number>;
  private waiters: Array<() => void> = [];
  constructor() {
    this.ws = new WebSocket(url);
    this.ws.on('message', (d: Buffer) => {
      this.messages.push(decodeCoordinatorMessage(d));
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => this.ws.on('close', (code) => resolve(code)));
  }
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }
  send(m: ClientMessage): void {
    this.ws.send(encodeControl(m));
  }
  async next(type: CoordinatorMessage['type'], ms = 15_000): Promise<CoordinatorMessage> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.messages.find((m) => m.type === type);
      if (found) {
        this.messages.splice(this.messages.indexOf(found), 1);
        return found;
      }
      if (Date.now() > deadline) throw new Error(`no ${type} message within ${ms} ms`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }
}

async function connected(): Promise<Probe> {
  const p = new Probe();
  await p.open();
  return p;
}

const hello = (role: 'peer' | 'seeder' | 'operator', id: string, session?: string): ClientMessage => ({
  type: 'hello',
  protocol: PROTOCOL_VERSION,
  role,
  id,
  name: id,
  ...(session ? { session } : {}),
});

describe('Coordinator control plane', () => {
  test('a wrong protocol version gets ERR_PROTOCOL_VERSION and a close', async () => {
    const p = await connected();
    p.send({ ...(hello('peer', 'v2', 'lab') as object), protocol: PROTOCOL_VERSION + 1 } as ClientMessage);
    const e = await p.next('error');
    assert.equal((e as { code: string }).code, 'ERR_PROTOCOL_VERSION');
    assert.equal(await p.closed, 1008);
  });

  test('a message before hello gets ERR_HELLO_REQUIRED and a close', async () => {
    const p = await connected();
    p.send({ type: 'want', have: 0 });
    assert.equal(((await p.next('error')) as { code: string }).code, 'ERR_HELLO_REQUIRED');
    assert.equal(await p.closed, 1008);
  });

  test('no hello within the timeout closes the connection', async () => {
    const p = await connected();
    assert.equal(((await p.next('error', 2000)) as { code: string }).code, 'ERR_HELLO_TIMEOUT');
    assert.equal(await p.closed, 1008);
  });

  test('malformed messages get ERR_MESSAGE_MALFORMED, and a client that keeps sending them is closed', async () => {
    const p = await connected();
    p.send(hello('peer', 'noisy', 'lab'));
    await p.next('welcome');
    p.ws.send(Buffer.from([0xc1, 0xff, 0x00]));
    assert.equal(((await p.next('error')) as { code: string }).code, 'ERR_MESSAGE_MALFORMED');
    p.ws.send(encodeControl({ type: 'nonsense' } as never));
    assert.equal(((await p.next('error')) as { code: string }).code, 'ERR_MESSAGE_UNKNOWN_TYPE');
    p.ws.send('text frame');
    assert.equal(((await p.next('error')) as { code: string }).code, 'ERR_TOO_MANY_BAD_MESSAGES');
    assert.equal(await p.closed, 1008);
  });

  test('an oversized frame is refused without harming the coordinator', async () => {
    const small = new Coordinator({
      logger: silentLogger(),
      host: '127.0.4.2',
      port: 0,
      limits: { maxMessageBytes: 1024 },
    });
    const { url: u } = await small.listen();
    try {
      const ws = new WebSocket(u);
      await new Promise((r) => ws.once('open', r));
      ws.send(Buffer.alloc(4096));
      const code = await new Promise<number>((r) => ws.on('close', (c) => r(c)));
      assert.equal(code, 1009); // message too big
      const res = await fetch(`http://127.0.4.2:${new URL(u).port}/healthz`);
      assert.equal(res.status, 200);
    } finally {
      await small.close();
    }
  });

  test('operator commands on an unknown session get ERR_UNKNOWN_SESSION', async () => {
    const p = await connected();
    p.send(hello('operator', 'op1'));
    await p.next('welcome');
    p.send({ type: 'end-session', session: 'no-such-session' });
    assert.equal(((await p.next('error')) as { code: string }).code, 'ERR_UNKNOWN_SESSION');
    p.ws.close();
  });

  test('a peer may not send operator commands', async () => {
    const p = await connected();
    p.send(hello('peer', 'sneaky', 'lab'));
    await p.next('welcome');
    p.send({ type: 'end-session', session: 'lab' });
    assert.equal(((await p.next('error')) as { code: string }).code, 'ERR_ROLE_FORBIDDEN');
    p.ws.close();
  });

  test('a tampered manifest is refused with ERR_MANIFEST_INVALID', async () => {
    const img = join(dir, 'tamper.img');
    await writeFile(img, Buffer.alloc(200_000, 7));
    const m = await buildManifest(img, { sliceSize: 65536 });
    const p = await connected();
    p.send(hello('seeder', 'seed-t', 'tampered'));
    await p.next('welcome');
    p.send({ type: 'open-session', manifest: { ...m, digests: m.digests.map(() => '0'.repeat(32)) }, options: {} });
    assert.equal(((await p.next('error')) as { code: string }).code, 'ERR_MANIFEST_INVALID');
    p.ws.close();
  });

  test('pairs a peer with the seeder, tells it the session, and reports it in /status', async () => {
    const img = join(dir, 'lab.img');
    await writeFile(img, Buffer.alloc(300_000, 1));
    const m = await buildManifest(img, { sliceSize: 65536 });
    const seeder = await connected();
    seeder.send(hello('seeder', 'seed-1', 'pairing'));
    await seeder.next('welcome');
    seeder.send({ type: 'open-session', manifest: { ...m }, options: {} });
    await seeder.next('ack');
    seeder.send({ type: 'serve', host: '127.0.4.9', port: 9999, capacity: 2 });
    const serving = await seeder.next('serving');
    assert.equal((serving as { serverId: string }).serverId, 'seed-1');

    const peer = await connected();
    peer.send(hello('peer', 'peer-1', 'pairing'));
    await peer.next('welcome');
    const session = await peer.next('session');
    assert.equal(session.type === 'session' && session.manifest.imageId, m.imageId);
    peer.send({ type: 'want', have: 0 });
    const assign = (await peer.next('assign')) as {
      server: { host: string; port: number; id: string };
      ticket: string;
    };
    assert.deepEqual([assign.server.host, assign.server.port, assign.server.id], ['127.0.4.9', 9999, 'seed-1']);
    assert.match(assign.ticket, /^[\w-]+\.[\w-]+$/);

    const status = (await (await fetch(`${url.replace('ws:', 'http:')}/status`)).json()) as {
      sessions: Array<{ name: string; transfers: Array<{ clientName: string; serverName: string }> }>;
    };
    const s = status.sessions.find((x) => x.name === 'pairing');
    assert.deepEqual(
      s?.transfers.map((t) => [t.clientName, t.serverName]),
      [['peer-1', 'seed-1']],
    );
    seeder.ws.close();
    peer.ws.close();
  });

  test("a failed report: the code is shown as the client's claim, and a server it was not assigned is not blamed", async () => {
    const img = join(dir, 'claims.img');
    await writeFile(img, Buffer.alloc(200_000, 3));
    const m = await buildManifest(img, { sliceSize: 65536 });
    const seeder = await connected();
    seeder.send(hello('seeder', 'seed-c', 'claims'));
    await seeder.next('welcome');
    seeder.send({ type: 'open-session', manifest: { ...m }, options: {} });
    await seeder.next('ack');
    seeder.send({ type: 'serve', host: '127.0.4.9', port: 9998, capacity: 1 });
    await seeder.next('serving');
    const peer = await connected();
    peer.send(hello('peer', 'liar', 'claims'));
    await peer.next('welcome');
    peer.send({ type: 'want', have: 0 });
    await peer.next('assign');
    // ten bad-slice reports against a server this peer was never assigned: nobody is quarantined
    for (let i = 0; i < 10; i++)
      peer.send({
        type: 'failed',
        server: 'innocent',
        code: 'ERR_SLICE_DIGEST_MISMATCH',
        reason: 'lies',
        badSlices: [1, 2, 3],
      });
    peer.send({ type: 'get-status', session: 'claims' });
    const status = await peer.next('status');
    assert.ok(status.type === 'status');
    const warning = status.status.warnings.find((w) => w.reportedBy === 'liar');
    assert.equal(warning?.event, 'transfer-failed');
    assert.equal(warning?.code, 'ERR_SLICE_DIGEST_MISMATCH');
    assert.ok(!status.status.warnings.some((w) => w.event === 'bad-slices' || w.event === 'quarantined'));
    const metrics = await (await fetch(`${url.replace('ws:', 'http:')}/metrics`)).text();
    assert.doesNotMatch(metrics, /cascade_digest_mismatches_total\{session="claims"\} [1-9]/);
    seeder.ws.close();
    peer.ws.close();
  });

  test('bad slices from two clients assigned to the server quarantine it; one client alone does not', async () => {
    const img = join(dir, 'bad.img');
    await writeFile(img, Buffer.alloc(200_000, 4));
    const m = await buildManifest(img, { sliceSize: 65536 });
    const seeder = await connected();
    seeder.send(hello('seeder', 'seed-b', 'bad'));
    await seeder.next('welcome');
    seeder.send({ type: 'open-session', manifest: { ...m }, options: {} });
    await seeder.next('ack');
    seeder.send({ type: 'serve', host: '127.0.4.9', port: 9997, capacity: 2 });
    await seeder.next('serving');
    const quarantined = async (p: Probe): Promise<boolean | undefined> => {
      p.send({ type: 'get-status', session: 'bad' });
      const status = await p.next('status');
      assert.ok(status.type === 'status');
      return status.status.sessions[0]?.servers.find((x) => x.name === 'seed-b')?.quarantined;
    };
    const victims: Probe[] = [];
    for (const id of ['victim-1', 'victim-2']) {
      const peer = await connected();
      peer.send(hello('peer', id, 'bad'));
      await peer.next('welcome');
      peer.send({ type: 'want', have: 0 });
      await peer.next('assign');
      victims.push(peer);
    }
    const report = { type: 'failed', server: 'seed-b', code: 'ERR_SERVER_BAD', reason: 'corrupt' } as const;
    victims[0]!.send({ ...report, badSlices: [0, 1, 2] });
    assert.equal(await quarantined(victims[0]!), false, 'one client alone quarantined the server');
    victims[1]!.send({ ...report, badSlices: [0] });
    assert.equal(await quarantined(victims[1]!), true);
    victims[1]!.send({ type: 'get-status', session: 'bad' });
    const status = await victims[1]!.next('status');
    assert.ok(status.type === 'status');
    assert.ok(status.status.warnings.some((w) => w.event === 'quarantined' && !w.code && !w.reportedBy));
    seeder.ws.close();
    for (const v of victims) v.ws.close();
  });

  test('a bug in a timer or in /status is logged, answered with 500, and never ends the coordinator', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (l: string) => void lines.push(l) });
    const fragile = new Coordinator({ logger, host: '127.0.4.3', port: 0, tickIntervalMs: 10 });
    let ticks = 0;
    fragile.scheduler.tick = () => {
      ticks++;
      throw new Error('tick bug');
    };
    fragile.scheduler.sessionNames = () => {
      throw new Error('status bug');
    };
    const { url: u } = await fragile.listen();
    try {
      for (let i = 0; i < 200 && ticks < 3; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(ticks >= 3, 'the tick timer kept running');
      const http = u.replace('ws:', 'http:');
      assert.equal((await fetch(`${http}/status`)).status, 500);
      assert.equal((await fetch(`${http}/healthz`)).status, 200);
      assert.ok(lines.some((l) => l.includes('tick bug') && l.includes('"in":"tick"')));
      assert.ok(lines.some((l) => l.includes('status bug') && l.includes('"in":"http"')));
    } finally {
      await fragile.close();
    }
  });
});
