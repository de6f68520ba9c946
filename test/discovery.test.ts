import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import {
  CascadeError,
  decodeDiscoverRequest,
  DISCOVERY_VERSION,
  encodeDiscovery,
  MAX_DISCOVERY_BYTES,
  silentLogger,
} from '@cascade/common';
import { DiscoveryResponder } from '@cascade/coordinator';
import { backoffSchedule, discoverCoordinator } from '@cascade/peer';

const logger = silentLogger();
const HOST = '127.0.6.1';

/** Send one datagram to the responder and wait for an answer (or null after `ms`). */
function ask(port: number, payload: Buffer, ms = 300): Promise<Buffer | null> {
  const s = createSocket('udp4');
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(null), ms);
    const done = (v: Buffer | null): void => {
      clearTimeout(timer);
      s.close();
      resolve(v);
    };
    s.on('message', (m) => done(m));
    s.bind(0, '127.0.6.2', () => s.send(payload, port, HOST));
  });
}

describe('discovery: a peer finds the coordinator by a UDP datagram', () => {
  const responder = new DiscoveryResponder({
    logger,
    host: HOST,
    port: 0,
    controlPort: 7770,
    url: 'ws://10.9.8.7:7770',
  });
  let port = 0;
  after(() => responder.close());

  test('the responder answers a valid request with its URL and the request nonce', async () => {
    port = (await responder.start()).port;
    const found = await discoverCoordinator({ logger, port, targets: [HOST], timeoutMs: 5000, initialDelayMs: 100 });
    assert.deepEqual(found, { url: 'ws://10.9.8.7:7770', from: HOST });
  });

  test('junk datagrams (not JSON, wrong shape, oversize, another version) are dropped, and it still answers', async () => {
    const before = responder.dropped;
    const junk = [
      Buffer.from('hello?'),
      Buffer.from('{"cascade":"discover","v":1}'),
      Buffer.from(JSON.stringify({ cascade: 'discover', v: 1, nonce: '0'.repeat(16), extra: 1 })),
      Buffer.alloc(MAX_DISCOVERY_BYTES + 1, 0x20),
      Buffer.from(JSON.stringify({ cascade: 'discover', v: 99, nonce: 'a'.repeat(16) })),
      Buffer.from('{"__proto__":{"x":1}}'),
    ];
    for (const j of junk) assert.equal(await ask(port, j, 150), null);
    assert.equal(responder.dropped - before, junk.length);
    const reply = await ask(
      port,
      encodeDiscovery({ cascade: 'discover', v: DISCOVERY_VERSION, nonce: 'b'.repeat(16) }),
    );
    assert.ok(reply);
    assert.match(reply.toString(), /"nonce":"b{16}".*ws:\/\/10\.9\.8\.7:7770/);
  });

  test('without a fixed URL it answers with its own address on the asker’s subnet, and not at all off-subnet', () => {
    const r = new DiscoveryResponder({
      logger,
      host: HOST,
      port: 0,
      controlPort: 7000,
      subnets: () => [{ iface: 'eth0', address: '10.1.2.3', netmask: '255.255.255.0', broadcast: '10.1.2.255' }],
    });
    assert.equal(r.urlFor('10.1.2.77'), 'ws://10.1.2.3:7000');
    assert.equal(r.urlFor('10.1.3.77'), null);
  });

  test('the client ignores junk and answers to another nonce, taking the first true answer', async () => {
    const fake = createSocket('udp4');
    fake.on('message', (m, rinfo) => {
      const req = decodeDiscoverRequest(m);
      const other = encodeDiscovery({ cascade: 'coordinator', v: 1, nonce: 'f'.repeat(16), url: 'ws://wrong:1' });
      fake.send(Buffer.from('junk'), rinfo.port, rinfo.address);
      fake.send(other, rinfo.port, rinfo.address);
      fake.send(
        encodeDiscovery({ cascade: 'coordinator', v: 1, nonce: req.nonce, url: 'ws://right:2' }),
        rinfo.port,
        rinfo.address,
      );
    });
    await new Promise<void>((r) => fake.bind(0, '127.0.6.3', () => r()));
    try {
      const found = await discoverCoordinator({
        logger,
        port: fake.address().port,
        targets: ['127.0.6.3'],
        timeoutMs: 5000,
        initialDelayMs: 100,
      });
      assert.equal(found.url, 'ws://right:2');
    } finally {
      fake.close();
    }
  });

  test('with nobody answering it gives up after its timeout with ERR_DISCOVERY_FAILED', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.6.4', () => r()));
    try {
      await assert.rejects(
        discoverCoordinator({
          logger,
          port: silent.address().port,
          targets: ['127.0.6.4'],
          timeoutMs: 300,
          initialDelayMs: 50,
        }),
        (err: unknown) =>
          err instanceof CascadeError && err.code === 'ERR_DISCOVERY_FAILED' && /--coordinator/.test(err.message),
      );
    } finally {
      silent.close();
    }
  });

  test('retries back off by doubling, capped, and never wait past the timeout', () => {
    assert.deepEqual(backoffSchedule(500, 4000, 20_000), [500, 1000, 2000, 4000, 4000, 4000, 4000, 500]);
    assert.deepEqual(backoffSchedule(1000, 8000, 1500), [1000, 500]);
    assert.ok(backoffSchedule(1, 1, 1e9).length <= 10_000);
  });
});
