import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BufferPool, FrameFlags, holdChunk } from '@cascade/common';
import { expectedSlicesOnly, InflightSlices } from '../../src/slices/inflight-slices.js';
import type { InflightStreamOptions } from '../../src/slices/inflight-stream.js';

const LEN = 1000;
const slice = Buffer.from(Array.from({ length: LEN }, (_, i) => (i * 13) & 0xff));

/** Stream options for a slice that is never held (unless `held` says so). */
function opts(o: Partial<InflightStreamOptions> = {}): InflightStreamOptions {
  return {
    waitMs: 5000,
    held: () => false,
    readFrom: () => Promise.reject(new Error('not expected to read the target')),
    ...o,
  };
}

/** Read a stream to its end, bounded. */
async function readAll(next: () => Promise<Buffer | null>): Promise<Buffer> {
  const out: Buffer[] = [];
  for (let i = 0; i < 10_000; i++) {
    const c = await next();
    if (c === null) return Buffer.concat(out);
    out.push(c);
  }
  throw new Error('stream did not end');
}

describe('InflightSlices: the registry', () => {
  test('a slice is in flight from its header until it is settled or dropped; ZERO slices never are', () => {
    const r = new InflightSlices();
    r.sliceStart(1, LEN, 0);
    r.sliceStart(2, LEN, 0);
    r.sliceStart(3, 0, FrameFlags.ZERO);
    assert.equal(r.size, 2);
    const a = r.get(1);
    r.sliceData(1, slice.subarray(0, 100));
    assert.equal(a?.received, 100);
    assert.equal(a?.chunks[0]?.buffer, slice.buffer, 'chunks are referenced, not copied');
    r.settled(1);
    assert.equal(a?.state, 'done');
    const b = r.get(2);
    r.dropped(2);
    assert.equal(b?.state, 'dead');
    assert.equal(r.size, 0, 'nothing left referenced');
    r.sliceData(2, slice); // bytes of a dropped reception are not kept
    assert.equal(b?.received, 0);
  });

  test('a new reception of a slice replaces the one before it', () => {
    const r = new InflightSlices();
    r.sliceStart(4, LEN, 0);
    const first = r.get(4);
    r.sliceStart(4, LEN, 0);
    assert.equal(first?.state, 'dead');
    assert.notEqual(r.get(4), first);
  });

  test('open: a held slice is read from the target (null); one in flight is a stream', async () => {
    const r = new InflightSlices();
    assert.equal(await r.open(0, opts({ held: () => true })), null);
    r.sliceStart(0, LEN, 0);
    const s = await r.open(0, opts());
    assert.equal(s?.length, LEN);
    s?.close();
  });

  test('open waits for the slice to start arriving, and gives up after the relay wait', async () => {
    const r = new InflightSlices();
    const opening = r.open(7, opts());
    r.sliceStart(7, LEN, 0);
    assert.equal((await opening)?.length, LEN);
    await assert.rejects(r.open(8, opts({ waitMs: 30 })), { code: 'ERR_SLICE_UNAVAILABLE' });
  });
});

describe('InflightStream: forwarding a slice still arriving', () => {
  test('bytes are given as they arrive, uncopied, and the stream ends with the last byte (before verification)', async () => {
    const r = new InflightSlices();
    r.sliceStart(0, LEN, 0);
    const s = await r.open(0, opts());
    assert.ok(s);
    r.sliceData(0, slice.subarray(0, 300));
    const first = await s.next();
    assert.equal(first?.length, 300);
    assert.equal(first?.buffer, slice.buffer, 'no copy');
    const pending = s.next();
    r.sliceData(0, slice.subarray(300, 700));
    r.sliceData(0, slice.subarray(700));
    const second = await pending;
    assert.equal(second?.length, 400, 'a waiting read wakes with the next bytes');
    const rest = await readAll(() => s.next());
    assert.deepEqual(Buffer.concat([first, second, rest].filter((b): b is Buffer => b !== null)), slice);
    assert.equal(r.size, 1, 'still unverified: the registry keeps it until settled');
    r.settled(0);
    assert.equal(r.size, 0);
  });

  test('a reception lost mid-slice: the stream resumes from the offset already given with the next one', async () => {
    const r = new InflightSlices();
    r.sliceStart(2, LEN, 0);
    const s = await r.open(2, opts());
    assert.ok(s);
    r.sliceData(2, slice.subarray(0, 400));
    const got = [await s.next()];
    r.dropped(2); // upstream lost
    const waiting = s.next();
    const again = Buffer.from(slice); // a second reception, from another upstream
    r.sliceStart(2, LEN, 0);
    r.sliceData(2, again.subarray(0, 250));
    r.sliceData(2, again.subarray(250, 600));
    r.sliceData(2, again.subarray(600));
    got.push(await waiting);
    for (let c = await s.next(); c !== null; c = await s.next()) got.push(c);
    assert.deepEqual(Buffer.concat(got as Buffer[]), slice, 'byte-exact, no byte twice');
    assert.equal(got[1]?.length, 200, 'the second reception is taken from byte 400 on');
  });

  test('a reception lost mid-slice, then the slice held: the rest is read from the target', async () => {
    const r = new InflightSlices();
    let held = false;
    const reads: number[] = [];
    const s = await (async () => {
      r.sliceStart(3, LEN, 0);
      return r.open(
        3,
        opts({
          held: () => held,
          readFrom: (offset) => {
            reads.push(offset);
            return Promise.resolve(slice.subarray(offset));
          },
        }),
      );
    })();
    assert.ok(s);
    r.sliceData(3, slice.subarray(0, 100));
    const head = await s.next();
    r.dropped(3);
    held = true;
    r.settled(3);
    const rest = await readAll(() => s.next());
    assert.deepEqual(Buffer.concat([head ?? Buffer.alloc(0), rest]), slice);
    assert.deepEqual(reads, [100]);
  });

  test('a compressed reception is forwarded flagged, as its wire bytes came; lost mid-slice, it resumes only from another compressed reception, never the target', async () => {
    const r = new InflightSlices();
    let held = false;
    r.sliceStart(6, LEN, FrameFlags.COMPRESSED);
    const s = await r.open(6, opts({ waitMs: 50, held: () => held }));
    assert.ok(s);
    assert.equal(s.compressed, true);
    r.sliceData(6, slice.subarray(0, 100));
    const head = await s.next();
    assert.equal(head?.length, 100);
    r.dropped(6);
    r.sliceStart(6, LEN, 0); // a raw reception of the same length: other bytes, not followed
    r.sliceData(6, slice);
    r.dropped(6);
    held = true;
    r.settled(6); // the target holds the payload, not these wire bytes
    await assert.rejects(s.next(), { code: 'ERR_SLICE_UNAVAILABLE' });
    r.sliceStart(7, LEN, FrameFlags.COMPRESSED);
    const t = await r.open(7, opts());
    r.sliceData(7, slice.subarray(0, 300));
    const first = await t!.next();
    r.dropped(7);
    r.sliceStart(7, LEN, FrameFlags.COMPRESSED); // the same compressed bytes again (from any upstream)
    r.sliceData(7, slice);
    const rest = await readAll(() => t!.next());
    assert.deepEqual(Buffer.concat([first!, rest]), slice);
  });

  test('a reception lost and never resumed: the next read fails with ERR_SLICE_UNAVAILABLE after the wait', async () => {
    const r = new InflightSlices();
    r.sliceStart(4, LEN, 0);
    const s = await r.open(4, opts({ waitMs: 30 }));
    assert.ok(s);
    r.sliceData(4, slice.subarray(0, 10));
    await s.next();
    r.dropped(4);
    await assert.rejects(s.next(), { code: 'ERR_SLICE_UNAVAILABLE', message: /byte 10 of 1000/ });
  });

  test('close while waiting ends the stream and stops listening', async () => {
    const r = new InflightSlices();
    r.sliceStart(5, LEN, 0);
    const s = await r.open(5, opts());
    assert.ok(s);
    const waiting = s.next();
    s.close();
    assert.equal(await waiting, null);
    r.sliceData(5, slice); // no listener left to call
  });
});

describe('expectedSlicesOnly', () => {
  test('only slices asked for, at their manifest length, are published', () => {
    const r = new InflightSlices();
    let asked = [1];
    const l = expectedSlicesOnly(
      r,
      (i) => asked.includes(i),
      (_i, length) => length === LEN,
    );
    l.sliceStart(2, LEN, 0); // not asked for
    l.sliceData(2, slice);
    l.sliceStart(1, LEN - 1, 0); // wrong length
    l.sliceData(1, slice);
    assert.equal(r.size, 0);
    l.sliceStart(1, LEN, 0);
    l.sliceData(1, slice);
    assert.equal(r.get(1)?.received, LEN);
    asked = [];
    l.sliceStart(3, LEN, 0);
    assert.equal(r.get(3), undefined);
  });
});

describe('InflightSlices with pooled bytes', () => {
  test('a pooled slice body is not reused while a stream still forwards it, after the registry and the writer are done', async () => {
    const pool = new BufferPool(LEN, 4);
    const body = pool.take(); // what the decoder copies the slice into (the frame's reference)
    slice.copy(body.buf);
    const r = new InflightSlices();
    r.sliceStart(1, LEN, 0);
    r.sliceData(1, body.buf.subarray(0, 600));
    const s = await r.open(1, opts());
    assert.ok(s);
    const first = await s.next();
    const write = holdChunk(first!); // a socket write of it, still queued
    r.sliceData(1, body.buf.subarray(600));
    r.settled(1); // verified and held
    body.release(); // the writer is done
    assert.equal(pool.idle, 0, 'the stream still reads it');
    const second = await s.next();
    assert.deepEqual(Buffer.concat([first!, second!]), slice);
    assert.equal(await s.next(), null);
    assert.equal(pool.idle, 0, 'the queued write still holds it');
    write();
    assert.equal(pool.idle, 1, 'back in the pool once nobody uses it');
  });

  test('a reception replaced by another is given back when no stream reads it; a closed stream gives back its hold', async () => {
    const pool = new BufferPool(LEN, 4);
    const one = pool.take();
    const r = new InflightSlices();
    r.sliceStart(3, LEN, 0);
    r.sliceData(3, one.buf.subarray(0, 10));
    const s = await r.open(3, opts());
    one.release(); // the transfer ended: the frame was never finished
    r.sliceStart(3, LEN, 0); // a new reception from another upstream
    assert.equal(pool.idle, 0, 'the stream has not moved on yet');
    s!.close();
    assert.equal(pool.idle, 1);
  });
});
