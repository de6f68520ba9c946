import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CascadeError,
  ControlClient,
  decodeCoordinatorMessage,
  encodeControl,
  helloProof,
  PROTOCOL_VERSION,
  silentLogger,
  type ClientMessage,
  type CoordinatorMessage,
} from '@cascade/common';
import WebSocket from 'ws';
import { Coordinator, type CoordinatorOptions } from '../src/coordinator.js';

const TOKEN = Buffer.from('s3cret-lab-token');
const coordinators: Coordinator[] = [];
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-coord-sec-'));
});
after(async () => {
  await Promise.all(coordinators.map((c) => c.close()));
  await rm(dir, { recursive: true, force: true });
});

async function start(host: string, opts: Partial<CoordinatorOptions> = {}): Promise<string> {
  const c = new Coordinator({ logger: silentLogger(), host, port: 0, ...opts });
  coordinators.push(c);
  return (await c.listen()).url;
}

/** A raw ws client: records every decoded message and the close code. */
class Probe {
  readonly ws: WebSocket;
  readonly messages: CoordinatorMessage[] = [];
  readonly closed: Promise<number>;
  readonly opened: Promise<void>;
  constructor(url: string, localAddress?: string) {
    this.ws = new WebSocket(url, localAddress ? { localAddress } : {});
    this.ws.on('message', (d: Buffer) => this.messages.push(decodeCoordinatorMessage(d)));
    this.ws.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.ws.on('close', (code) => resolve(code)));
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }
  send(m: ClientMessage): void {
    this.ws.send(encodeControl(m));
  }
  async next<T extends CoordinatorMessage['type']>(
    type: T,
    ms = 15_000,
  ): Promise<Extract<CoordinatorMessage, { type: T }>> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const i = this.messages.findIndex((m) => m.type === type);
      if (i >= 0) return this.messages.splice(i, 1)[0] as Extract<CoordinatorMessage, { type: T }>;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no ${type} within ${ms} ms (got ${this.messages.map((m) => m.type).join(',')})`);
  }
}

const helloOf = (role: 'peer' | 'observer' | 'operator', id: string, session?: string) => ({
  type: 'hello' as const,
  protocol: PROTOCOL_VERSION,
  role,
  id,
  name: id,
  ...(session ? { session } : {}),
});

/** Connect, read the challenge, answer it with `token` (or no proof), return the probe. */
async function answer(url: string, token: Uint8Array | null, role: 'peer' | 'observer' = 'peer'): Promise<Probe> {
  const p = new Probe(url);
  await p.opened;
  const { nonce } = await p.next('challenge');
  const h = helloOf(role, `${role}-${Math.random()}`, role === 'peer' ? 'lab' : undefined);
  p.send(token ? { ...h, auth: helloProof(token, nonce, h) } : h);
  return p;
}

async function refusedWith(p: Probe, code: string): Promise<void> {
  assert.equal((await p.next('error')).code, code);
  assert.equal(await p.closed, 1008);
  assert.equal(p.messages.filter((m) => m.type === 'welcome').length, 0, 'no welcome before the refusal');
}

describe('session token: challenge-response on hello', () => {
  let url: string;
  before(async () => {
    url = await start('127.0.4.21', { auth: { token: TOKEN } });
  });

  test('every connection starts with a fresh 32-byte challenge that says a token is required', async () => {
    const a = new Probe(url);
    const b = new Probe(url);
    const [ca, cb] = [await a.next('challenge'), await b.next('challenge')];
    assert.equal(ca.auth, true);
    assert.equal(ca.nonce.length, 32);
    assert.notDeepEqual(ca.nonce, cb.nonce);
    a.ws.close();
    b.ws.close();
  });

  test('a hello with the right proof is welcomed', async () => {
    const p = await answer(url, TOKEN);
    await p.next('welcome');
    p.ws.close();
  });

  test('a hello without a proof gets ERR_AUTH_REQUIRED and a close', async () => {
    await refusedWith(await answer(url, null), 'ERR_AUTH_REQUIRED');
  });

  test('a wrong token gets ERR_AUTH_FAILED and a close', async () => {
    await refusedWith(await answer(url, Buffer.from('wrong-token')), 'ERR_AUTH_FAILED');
  });

  test('a replayed challenge answer (recorded on another connection) gets ERR_AUTH_FAILED', async () => {
    const first = new Probe(url);
    const { nonce } = await first.next('challenge');
    const recorded = {
      ...helloOf('peer', 'victim', 'lab'),
      auth: helloProof(TOKEN, nonce, helloOf('peer', 'victim', 'lab')),
    };
    first.send(recorded);
    await first.next('welcome');
    const replay = new Probe(url);
    await replay.next('challenge');
    replay.send(recorded);
    await refusedWith(replay, 'ERR_AUTH_FAILED');
    first.ws.close();
  });

  test('a proof made for another role is refused: the answer binds role, id, name and session', async () => {
    const p = new Probe(url);
    const { nonce } = await p.next('challenge');
    const asPeer = helloOf('peer', 'x', 'lab');
    p.send({ ...helloOf('operator', 'x'), auth: helloProof(TOKEN, nonce, asPeer) });
    await refusedWith(p, 'ERR_AUTH_FAILED');
  });

  test('an observer without the token is refused, and HTTP /status answers 403', async () => {
    await refusedWith(await answer(url, null, 'observer'), 'ERR_AUTH_REQUIRED');
    const res = await fetch(`${url.replace('ws:', 'http:')}/status`);
    assert.equal(res.status, 403);
    assert.equal((await fetch(`${url.replace('ws:', 'http:')}/healthz`)).status, 200);
  });

  test('ControlClient with the token reconnects with its secret; a hello under its id without the secret is refused', async () => {
    let connects = 0;
    const client = new ControlClient({
      url,
      logger: silentLogger(),
      token: TOKEN,
      hello: { role: 'peer', id: 'peer-re', name: 'peer', session: 'lab' },
      reconnect: { initialMs: 20, maxMs: 50 },
      onConnected: () => connects++,
      onMessage: () => undefined,
    });
    await client.start();
    // Another connection with the token but not the secret cannot take the id over.
    const rogue = new Probe(url);
    const { nonce } = await rogue.next('challenge');
    const h = { ...helloOf('peer', 'peer-re', 'lab'), name: 'peer' };
    rogue.send({ ...h, auth: helloProof(TOKEN, nonce, h) });
    await refusedWith(rogue, 'ERR_ID_TAKEN');
    assert.equal(client.connected, true, 'the member kept its connection');
    // Drop the client's connection: it reconnects, answers the new challenge and proves its secret
    // (a departed peer's id stays taken: without the secret it would be refused).
    (client as unknown as { ws: WebSocket }).ws.terminate();
    const deadline = Date.now() + 5000;
    while (connects < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(connects, 2, 'the client reconnected and was welcomed again');
    void client.close();
    rogue.ws.close();
  });

  test('ControlClient with a wrong token fails start() with ERR_AUTH_FAILED', async () => {
    const client = new ControlClient({
      url,
      logger: silentLogger(),
      token: Buffer.from('nope'),
      hello: { role: 'operator', id: 'op-bad', name: 'op' },
      reconnect: false,
      onMessage: () => undefined,
    });
    await assert.rejects(
      client.start(),
      (e: unknown) =>
        e instanceof CascadeError && e.code === 'ERR_COORDINATOR_REFUSED' && e.remoteCode === 'ERR_AUTH_FAILED',
    );
    void client.close();
  });
});

describe('--public-status', () => {
  test('with a token and public status, an observer without the token gets status, a peer does not', async () => {
    const url = await start('127.0.4.22', { auth: { token: TOKEN, publicStatus: true } });
    const obs = await answer(url, null, 'observer');
    await obs.next('welcome');
    obs.send({ type: 'get-status' });
    await obs.next('status');
    obs.ws.close();
    await refusedWith(await answer(url, null, 'peer'), 'ERR_AUTH_REQUIRED');
    assert.equal((await fetch(`${url.replace('ws:', 'http:')}/status`)).status, 200);
  });

  test('without a token everything works as before: challenge says auth false, hello needs no proof', async () => {
    const url = await start('127.0.4.23');
    const p = await answer(url, null);
    await p.next('welcome');
    p.ws.close();
  });
});

describe('connection and message limits', () => {
  test('connections over the per-address limit get ERR_TOO_MANY_CONNECTIONS; another address still connects', async () => {
    const url = await start('127.0.4.24', { limits: { maxConnectionsPerAddress: 2 } });
    const held = [new Probe(url, '127.0.4.101'), new Probe(url, '127.0.4.101')];
    await Promise.all(held.map((p) => p.next('challenge')));
    const third = new Probe(url, '127.0.4.101');
    await refusedWith(third, 'ERR_TOO_MANY_CONNECTIONS');
    const other = new Probe(url, '127.0.4.102');
    await other.next('challenge');
    held[0]!.ws.close();
    await held[0]!.closed;
    await new Promise((r) => setTimeout(r, 50));
    const again = new Probe(url, '127.0.4.101');
    await again.next('challenge');
    for (const p of [held[1]!, other, again]) p.ws.close();
  });

  test('connections over the total limit get ERR_TOO_MANY_CONNECTIONS', async () => {
    const url = await start('127.0.4.25', { limits: { maxConnections: 2 } });
    const held = [new Probe(url), new Probe(url)];
    await Promise.all(held.map((p) => p.next('challenge')));
    await refusedWith(new Probe(url), 'ERR_TOO_MANY_CONNECTIONS');
    for (const p of held) p.ws.close();
  });

  test('a connection that floods messages past its burst gets ERR_RATE_LIMITED and a close', async () => {
    const url = await start('127.0.4.26', { limits: { maxMessagesPerSecond: 5, messageBurst: 10 } });
    const p = await answer(url, null, 'observer');
    await p.next('welcome');
    for (let i = 0; i < 50; i++) p.send({ type: 'get-status' });
    assert.equal((await p.next('error')).code, 'ERR_RATE_LIMITED');
    assert.equal(await p.closed, 1008);
    assert.ok(p.messages.filter((m) => m.type === 'status').length <= 10, 'at most the burst was answered');
  });
});

describe('TLS control plane', () => {
  let certs: { cert: Buffer; key: Buffer } | null = null;
  before(async () => {
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=cascade-test',
          '-addext',
          'subjectAltName=IP:127.0.4.27',
          '-keyout',
          join(dir, 'tls.key'),
          '-out',
          join(dir, 'tls.crt'),
        ],
        { stdio: 'ignore' },
      );
      certs = { cert: await readFile(join(dir, 'tls.crt')), key: await readFile(join(dir, 'tls.key')) };
    } catch {
      certs = null;
    }
  });

  test('a wss:// coordinator welcomes a client that trusts its CA, and refuses one that does not', async (t) => {
    if (!certs) return t.skip('openssl is not available to make a test certificate');
    const url = await start('127.0.4.27', { tls: certs, auth: { token: TOKEN } });
    assert.match(url, /^wss:\/\//);
    const good = new ControlClient({
      url,
      logger: silentLogger(),
      ca: certs.cert,
      token: TOKEN,
      reconnect: false,
      hello: { role: 'observer', id: 'tls-obs', name: 'tls' },
      onMessage: () => undefined,
    });
    await good.start();
    assert.equal(good.connected, true);
    void good.close();
    const bad = new ControlClient({
      url,
      logger: silentLogger(),
      token: TOKEN,
      reconnect: false,
      hello: { role: 'observer', id: 'tls-obs2', name: 'tls' },
      onMessage: () => undefined,
    });
    await assert.rejects(
      bad.start(),
      (e: unknown) => e instanceof CascadeError && e.code === 'ERR_COORDINATOR_UNREACHABLE',
    );
    void bad.close();
    const res = await fetch(`${url.replace('wss:', 'https:')}/healthz`).catch((e: Error) => e);
    assert.ok(res instanceof Error, 'plain fetch without the CA fails the TLS handshake');
  });
});
