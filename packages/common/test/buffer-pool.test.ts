import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BufferPool,
  FrameDecoder,
  FrameType,
  encodeError,
  encodeSliceHeader,
  encodeWelcome,
  holdChunk,
  isPooled,
} from '../src/index.js';

describe('BufferPool', () => {
  test('a buffer given back is handed out again; one still held is not', () => {
    const pool = new BufferPool(1024, 4);
    const a = pool.take();
    const hold = holdChunk(a.buf.subarray(100, 200)); // e.g. a socket write of part of it
    a.release();
    assert.equal(pool.idle, 0, 'still held by the write');
    const b = pool.take();
    assert.notEqual(b.buf.buffer, a.buf.buffer, 'a held buffer is never handed out');
    hold();
    assert.equal(pool.idle, 1, 'the last release returns it');
    const c = pool.take();
    assert.equal(c.buf.buffer, a.buf.buffer, 'reused');
    assert.deepEqual([pool.made, pool.reused], [2, 1]);
  });

  test('every release works once: a second call cannot free a buffer someone else holds', () => {
    const pool = new BufferPool(64, 4);
    const a = pool.take();
    const hold = holdChunk(a.buf);
    a.release();
    a.release();
    assert.equal(pool.idle, 0);
    hold();
    hold();
    assert.equal(pool.idle, 1);
  });

  test('bytes from anywhere else: holding them does nothing; free buffers beyond `keep` are not kept', () => {
    const pool = new BufferPool(64, 1);
    const other = Buffer.alloc(64);
    assert.equal(isPooled(other), false);
    holdChunk(other)();
    const a = pool.take();
    const b = pool.take();
    a.release();
    b.release();
    assert.equal(pool.idle, 1);
    assert.equal(isPooled(a.buf), false, 'a free buffer is not in use');
    assert.equal(holdChunk(a.buf.subarray(0, 1)) === holdChunk(other), true, 'a free buffer cannot be held');
  });
});

describe('FrameDecoder in copy mode', () => {
  const body = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff));
  const wire = Buffer.concat([
    encodeWelcome(),
    encodeSliceHeader(5, body.length),
    body,
    encodeSliceHeader(6, 0, 1),
    encodeError('ERR_X', 'bye'),
  ]);

  test('keeps no reference to a pushed chunk: reusing it after push changes no frame', () => {
    const pool = new BufferPool(4096, 4);
    const heard: Buffer[] = [];
    const d = new FrameDecoder({
      maxSliceBytes: 4096,
      accept: [FrameType.WELCOME, FrameType.SLICE, FrameType.ERROR],
      copyTo: pool,
      sliceBody: { sliceStart: () => undefined, sliceData: (_i, c) => heard.push(c) },
    });
    const frames = [];
    const reused = Buffer.alloc(777); // one read buffer, read into again after every push
    for (let at = 0; at < wire.length; at += reused.length) {
      const n = wire.copy(reused, 0, at, Math.min(wire.length, at + reused.length));
      frames.push(...d.push(reused.subarray(0, n)));
      reused.fill(0xee);
    }
    assert.deepEqual(
      frames.map((f) => f.type),
      [FrameType.WELCOME, FrameType.SLICE, FrameType.SLICE, FrameType.ERROR],
    );
    const slice = frames[1]!;
    assert.equal(slice.chunks.length, 1);
    assert.deepEqual(slice.chunks[0], body, 'the body, intact');
    assert.ok(isPooled(slice.chunks[0]), 'in a pooled buffer');
    assert.ok(
      heard.length > 1 && heard.every((c) => c.buffer === slice.chunks[0]!.buffer),
      'cut-through hears the pooled copy',
    );
    assert.deepEqual(Buffer.concat(heard), body);
    assert.equal(frames[2]!.release, undefined, 'a zero slice has no body');
    assert.match(frames[3]!.chunks.map((c) => c.toString('latin1')).join(''), /bye/);
    slice.release?.();
    assert.equal(pool.idle, 1, 'released: back in the pool');
  });

  test('discard gives back the body of a slice cut off mid-way', () => {
    const pool = new BufferPool(4096, 4);
    const d = new FrameDecoder({ maxSliceBytes: 4096, accept: [FrameType.SLICE], copyTo: pool });
    d.push(Buffer.concat([encodeSliceHeader(1, 100), Buffer.alloc(40)]));
    assert.equal(pool.idle, 0);
    d.discard();
    assert.equal(pool.idle, 1);
  });
});
