import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import {
  BufferPool,
  encodeError,
  encodeSliceHeader,
  encodeWelcome,
  FrameDecoder,
  FrameType,
  isPooled,
  type Frame,
} from '@cascade/common';
import { connectFrames, type FrameReader } from '../../src/fetch/frame-reader.js';
import { noise } from '../../../common/test/fixtures.js';

const HOST = '127.0.3.10';
const SLICE = 256 * 1024;
const servers: Server[] = [];
after(async () => {
  for (const s of servers) await new Promise<void>((resolve) => s.close(() => resolve()));
});

/** A server that answers every connection with `bytes`, written in pieces of `piece` bytes. */
async function serving(bytes: Buffer, piece = bytes.length): Promise<number> {
  const server = createServer((s: Socket) => {
    s.on('error', () => undefined);
    for (let at = 0; at < bytes.length; at += piece) s.write(bytes.subarray(at, at + piece));
    s.end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
  return (server.address() as AddressInfo).port;
}

function reader(port: number, pool: BufferPool, highWater = 2 * SLICE): FrameReader {
  const decoder = new FrameDecoder({
    maxSliceBytes: SLICE,
    accept: [FrameType.WELCOME, FrameType.SLICE, FrameType.ERROR],
    copyTo: pool,
  });
  const r = connectFrames({ host: HOST, port }, decoder, highWater);
  r.socket.on('error', () => undefined);
  return r;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), what);
}

/** Every frame and byte count until the socket closes (or its error). */
async function drain(r: FrameReader): Promise<{ frames: Frame[]; bytes: number }> {
  const frames: Frame[] = [];
  let bytes = 0;
  for (let n = await r.next(); !n.done; n = await r.next()) {
    frames.push(...n.value.frames);
    bytes += n.value.bytes;
  }
  return { frames, bytes };
}

const slices = [noise(SLICE, 1), noise(SLICE, 2), noise(SLICE - 1000, 3)];
const stream = Buffer.concat([
  encodeWelcome(),
  ...slices.flatMap((s, i) => [encodeSliceHeader(i, s.length), s]),
  encodeError('ERR_SERVER_FULL', 'full'),
]);

describe('connectFrames', () => {
  test('slice bodies are read straight into pooled shared buffers, byte-exact in any split; every byte counted', async () => {
    for (const piece of [stream.length, 7, 4096, 100_003]) {
      const pool = new BufferPool(SLICE, 8, true);
      const { frames, bytes } = await drain(reader(await serving(stream, piece), pool));
      assert.equal(bytes, stream.length, `split ${piece}: bytes counted`);
      assert.deepEqual(
        frames.map((f) => f.type),
        [FrameType.WELCOME, FrameType.SLICE, FrameType.SLICE, FrameType.SLICE, FrameType.ERROR],
      );
      for (const [i, s] of slices.entries()) {
        const f = frames[i + 1] as Frame;
        assert.equal(f.chunks.length, 1, 'one chunk: the pooled body');
        assert.ok(isPooled(f.chunks[0] as Buffer), 'in a pooled buffer');
        assert.ok((f.chunks[0] as Buffer).buffer instanceof SharedArrayBuffer, 'over shared memory');
        assert.ok(Buffer.concat(f.chunks).equals(s), `split ${piece}: slice ${i} byte-exact`);
        f.release?.();
      }
      assert.equal(pool.made, slices.length, 'one buffer per slice held at once, no copies beside them');
    }
  });

  test('frames nobody takes pause the socket at the high-water mark; taking them resumes it', async () => {
    const many = Buffer.concat(
      Array.from({ length: 8 }, (_, i) => [encodeSliceHeader(i, SLICE), slices[0] as Buffer]).flat(),
    );
    const pool = new BufferPool(SLICE, 16, true);
    const r = reader(await serving(many), pool, 2 * SLICE);
    await until(() => r.socket.isPaused(), 'paused while nothing is taken');
    assert.ok(pool.made <= 3, `${pool.made} slice buffers filled while paused (2 allowed, one being read)`);
    const { frames } = await drain(r);
    assert.equal(frames.length, 8);
    for (const f of frames) f.release?.();
  });

  test('tiny slices cannot pin many buffers: each counts as the whole buffer it holds', async () => {
    const tiny = Buffer.concat(
      Array.from({ length: 64 }, (_, i) => [encodeSliceHeader(i, 1), Buffer.from([i])]).flat(),
    );
    const pool = new BufferPool(SLICE, 64, true);
    const r = reader(await serving(tiny, 13), pool, 2 * SLICE);
    await until(() => r.socket.isPaused(), 'paused after a few tiny slices');
    assert.ok(pool.made <= 3, `${pool.made} slice buffers pinned by 1-byte slices (2 allowed, one being read)`);
    r.drop();
    r.socket.destroy();
  });

  test('a stream that is not cascade framing ends the reads with ERR_FRAME_MALFORMED, not the process', async () => {
    const pool = new BufferPool(SLICE, 4, true);
    const r = reader(
      await serving(Buffer.concat([encodeWelcome(), Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')])),
      pool,
    );
    await assert.rejects(drain(r), (err: Error & { code?: string }) => err.code === 'ERR_FRAME_MALFORMED');
  });

  test('drop gives back the pooled bodies of frames not taken, and of the slice half read', async () => {
    const half = Buffer.concat([encodeSliceHeader(0, SLICE), slices[0] as Buffer, encodeSliceHeader(1, SLICE)]);
    const pool = new BufferPool(SLICE, 4, true);
    const port = await serving(Buffer.concat([half, (slices[1] as Buffer).subarray(0, 1000)]));
    const r = reader(port, pool);
    await until(() => r.socket.destroyed || pool.made === 2, 'both bodies taken from the pool');
    r.drop();
    assert.equal(pool.idle, 2, 'both back in the pool');
    r.socket.destroy();
  });
});
