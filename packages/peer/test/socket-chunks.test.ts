import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { BufferPool } from '@cascade/common';
import { connectPooled, socketChunks } from '../src/socket-chunks.js';
import { noise } from '../../common/test/fixtures.js';

const HOST = '127.0.3.9';
const sockets: Socket[] = [];
const server = createServer((s) => {
  sockets.push(s);
  s.on('error', () => undefined);
  s.end(payload);
});
const payload = noise(2 * 1024 * 1024, 9);
await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function client(): Socket {
  const s = connect({ host: HOST, port: (server.address() as AddressInfo).port });
  s.on('error', () => undefined);
  return s;
}

describe('socketChunks', () => {
  test('an unread socket pauses at the high-water mark; reading resumes it and yields every byte, then done', async () => {
    const s = client();
    const chunks = socketChunks(s, 64 * 1024);
    const deadline = Date.now() + 5000;
    while (!s.isPaused() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(s.isPaused(), true, 'paused while nothing is read');
    const got: Buffer[] = [];
    for (let r = await chunks.next(); !r.done; r = await chunks.next()) got.push(r.value);
    assert.ok(Buffer.concat(got).equals(payload));
  });

  test('a socket destroyed with an error makes the pending read throw that error', async () => {
    const s = client();
    const chunks = socketChunks(s, 64 * 1024);
    const deadline = Date.now() + 5000;
    while (!s.isPaused() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    s.destroy(new Error('stalled'));
    let error: unknown = null;
    try {
      for (let r = await chunks.next(); !r.done; r = await chunks.next());
    } catch (err) {
      error = err;
    }
    assert.equal((error as Error | null)?.message, 'stalled');
  });
});

describe('connectPooled', () => {
  test('reads into pooled buffers, reused once each chunk is done; pauses unread; every byte, then done at the end', async () => {
    const reads = new BufferPool(16 * 1024, 8);
    const { socket, chunks } = connectPooled(
      { host: HOST, port: (server.address() as AddressInfo).port },
      reads,
      64 * 1024,
    );
    socket.on('error', () => undefined);
    const deadline = Date.now() + 5000;
    while (!socket.isPaused() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(socket.isPaused(), true, 'paused while nothing is read');
    const got: Buffer[] = [];
    for (let r = await chunks.next(); !r.done; r = await chunks.next()) {
      got.push(Buffer.from(r.value)); // a copy: the buffer is read into again once done
      chunks.done(r.value);
    }
    assert.ok(Buffer.concat(got).equals(payload));
    assert.ok(reads.reused > reads.made, `buffers reused (${reads.made} made, ${reads.reused} reused)`);
  });

  test('a socket destroyed with an error makes the pending read throw it', async () => {
    const { socket, chunks } = connectPooled(
      { host: HOST, port: (server.address() as AddressInfo).port },
      new BufferPool(4096, 4),
      16 * 1024,
    );
    socket.on('error', () => undefined);
    const first = await chunks.next();
    assert.equal(first.done, false);
    socket.destroy(new Error('stalled'));
    await assert.rejects(async () => {
      for (let r = await chunks.next(); !r.done; r = await chunks.next());
    }, /stalled/);
  });

  test('a server sending tiny segments cannot make the unread queue pin more than high-water of read buffers', async () => {
    const trickle = createServer((s) => {
      s.setNoDelay(true);
      s.on('error', () => undefined);
      let n = 0;
      const tick = (): void => {
        if (n++ >= 200 || s.destroyed) return void s.end();
        s.write(Buffer.alloc(10, n));
        setTimeout(tick, 1);
      };
      tick();
    });
    await new Promise<void>((resolve) => trickle.listen(0, HOST, () => resolve()));
    try {
      const reads = new BufferPool(16 * 1024, 64);
      const port = (trickle.address() as AddressInfo).port;
      const { socket, chunks } = connectPooled({ host: HOST, port }, reads, 64 * 1024);
      socket.on('error', () => undefined);
      const deadline = Date.now() + 5000;
      while (!socket.isPaused() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.equal(socket.isPaused(), true, 'paused after a few tiny chunks');
      assert.ok(reads.made <= 64 / 16 + 2, `${reads.made} read buffers made for 4 allowed`);
      let bytes = 0;
      for (let r = await chunks.next(); !r.done; r = await chunks.next()) {
        bytes += r.value.length;
        chunks.done(r.value);
      }
      assert.equal(bytes, 2000);
      assert.ok(reads.made <= 64 / 16 + 2, 'reused while read');
    } finally {
      await new Promise<void>((resolve) => trickle.close(() => resolve()));
    }
  });
});
