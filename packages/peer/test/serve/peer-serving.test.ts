import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, describe, test } from 'node:test';
import { silentLogger } from '@cascade/common';
import { PeerServing } from '../../src/serve/peer-serving.js';

const HOST = '127.0.3.60';

async function occupy(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, HOST, r));
  after(() => new Promise<void>((r) => server.close(() => r())));
  return { server, port: (server.address() as AddressInfo).port };
}

function serving(port: number, listenFallback: boolean): PeerServing {
  const s = new PeerServing({
    logger: silentLogger(),
    serverId: 'p1',
    session: 'lab',
    listen: { host: HOST, port },
    listenFallback,
    onClientLeft: () => undefined,
  });
  after(() => s.close());
  return s;
}

describe('peer serving: the data port', () => {
  test('the default port taken: it binds any free port instead', async () => {
    const { port } = await occupy();
    await serving(port, true).bind(); // resolves: a fallback port was bound
  });

  test('an explicit port taken: ERR_BAD_CONFIG at startup', async () => {
    const { port } = await occupy();
    await assert.rejects(serving(port, false).bind(), { code: 'ERR_BAD_CONFIG', message: /EADDRINUSE/ });
  });
});
