import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { ControlClient } from '../src/control/control-client.js';
import { decodeClientMessage, encodeControl } from '../src/protocol/control-codec.js';
import { encodeError } from '../src/protocol/data-frames.js';
import { PROTOCOL_VERSION, type CoordinatorMessage } from '../src/protocol/control-messages.js';

const HOST = '127.0.3.40';

/** A logger whose JSON lines land in `lines`. */
function capture(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** A coordinator stand-in: `answer(n)` says what the n-th hello (from 1) gets. */
async function fakeCoordinator(
  answer: (n: number) => CoordinatorMessage,
): Promise<{ url: string; hellos: () => number }> {
  const wss = new WebSocketServer({ host: HOST, port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  let n = 0;
  wss.on('connection', (ws: WebSocket) => {
    ws.on('message', (data: Buffer) => {
      if (decodeClientMessage(data).type !== 'hello') return;
      const reply = answer(++n);
      ws.send(encodeControl(reply));
      if (reply.type === 'error') ws.close(1008);
    });
  });
  after(() => new Promise<void>((r) => wss.close(() => r())));
  return { url: `ws://${HOST}:${(wss.address() as AddressInfo).port}`, hellos: () => n };
}

const hello = { role: 'peer' as const, id: 'p1', name: 'pc-1', session: 'lab' };
const fast = { initialMs: 10, maxMs: 20 };

describe('ControlClient', () => {
  test('a transient refusal before the welcome (too many connections) is retried, and the retry logged with it', async () => {
    const coord = await fakeCoordinator((n) =>
      n < 3
        ? { type: 'error', code: 'ERR_TOO_MANY_CONNECTIONS', message: 'limit reached' }
        : { type: 'welcome', protocol: PROTOCOL_VERSION, id: 'p1' },
    );
    const { logger, lines } = capture();
    const c = new ControlClient({ url: coord.url, hello, logger, onMessage: () => undefined, reconnect: fast });
    await c.start();
    await c.close();
    assert.equal(coord.hellos(), 3);
    const retries = lines.filter((l) => l.msg === 'retrying the coordinator');
    assert.equal(retries.length, 2);
    for (const r of retries) assert.match(String(r.reason), /ERR_TOO_MANY_CONNECTIONS/);
  });

  test('a fatal refusal (auth failed) ends it at once', async () => {
    const coord = await fakeCoordinator(() => ({ type: 'error', code: 'ERR_AUTH_FAILED', message: 'bad proof' }));
    const { logger } = capture();
    const c = new ControlClient({ url: coord.url, hello, logger, onMessage: () => undefined, reconnect: fast });
    await assert.rejects(c.start(), { code: 'ERR_COORDINATOR_REFUSED', remoteCode: 'ERR_AUTH_FAILED' });
    await c.close();
    assert.equal(coord.hellos(), 1);
  });

  test('a URL where a data port answers (not a coordinator): each retry is logged at warn with a hint', async () => {
    const data = createServer((s) => {
      s.on('error', () => undefined);
      s.once('data', () => s.end(encodeError('ERR_FRAME_MALFORMED', 'not a frame')));
    });
    await new Promise<void>((r) => data.listen(0, HOST, () => r()));
    after(() => new Promise<void>((r) => data.close(() => r())));
    const { logger, lines } = capture();
    const c = new ControlClient({
      url: `ws://${HOST}:${(data.address() as AddressInfo).port}`,
      hello,
      logger,
      onMessage: () => undefined,
      reconnect: { ...fast, giveUpAfterMs: 300 },
    });
    await assert.rejects(c.start(), { code: 'ERR_COORDINATOR_UNREACHABLE' });
    await c.close();
    const retries = lines.filter((l) => l.msg === 'retrying the coordinator');
    assert.ok(retries.length >= 2, JSON.stringify(lines));
    for (const r of retries) {
      assert.equal(r.level, 40, 'warn');
      assert.match(String(r.hint), /is not a cascade coordinator: .*listens on 7770/);
    }
  });

  test('a coordinator nobody answers for: each retry is logged at info with ECONNREFUSED', async () => {
    const { logger, lines } = capture();
    const c = new ControlClient({
      url: `ws://${HOST}:9`,
      hello,
      logger,
      onMessage: () => undefined,
      reconnect: { ...fast, giveUpAfterMs: 300 },
    });
    await assert.rejects(c.start(), { code: 'ERR_COORDINATOR_UNREACHABLE' });
    await c.close();
    const retries = lines.filter((l) => l.msg === 'retrying the coordinator');
    assert.ok(retries.length >= 2, JSON.stringify(lines));
    assert.ok(retries.every((l) => (l.level as number) === 30 && /ECONNREFUSED/.test(String(l.reason))));
  });
});
