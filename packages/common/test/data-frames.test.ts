import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import msgpack from 'msgpack-lite';
import { BufferPool } from '../src/data/buffer-pool.js';
import { CascadeError, type ErrorCode } from '../src/errors.js';
import {
  decodeErrorBody,
  decodeHelloBody,
  encodeBye,
  encodeError,
  encodeGet,
  encodeHeader,
  encodeHello,
  encodeSliceHeader,
  encodeWelcome,
  FRAME_MAGIC,
  FrameDecoder,
  FrameFlags,
  framePayload,
  FrameType,
  HEADER_BYTES,
  MAX_CONTROL_FRAME_BYTES,
  type DataHello,
  type Frame,
  type FrameTypeValue,
} from '../src/protocol/data-frames.js';
import { noise } from './fixtures.js';

const ALL_TYPES: FrameTypeValue[] = Object.values(FrameType);
const MAX_SLICE = 64 * 1024;

function assertCode(code: ErrorCode): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof CascadeError, `expected a CascadeError, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return true;
  };
}

const decoder = (accept: readonly FrameTypeValue[] = ALL_TYPES, maxSliceBytes = MAX_SLICE): FrameDecoder =>
  new FrameDecoder({ maxSliceBytes, accept });

/** A frame reduced to plain, comparable values. */
interface Plain {
  type: number;
  flags: number;
  index: number;
  length: number;
  payload: string;
}
const plain = (f: Frame): Plain => ({
  type: f.type,
  flags: f.flags,
  index: f.index,
  length: f.length,
  payload: framePayload(f).toString('hex'),
});

/** Feed `pieces` one after another and collect every frame. */
function feed(d: FrameDecoder, pieces: Buffer[]): Plain[] {
  const out: Plain[] = [];
  for (const p of pieces) for (const f of d.push(p)) out.push(plain(f));
  return out;
}

/** Split `buf` at the given cut points (any order, duplicates allowed). */
function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

const hello: DataHello = {
  session: 'lab-a',
  imageId: '0123456789abcdef0123456789abcdef',
  ticket: 'abc.def',
  client: 'p1',
};
const sliceBytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff));
const fullSlice = Buffer.alloc(MAX_SLICE, 0x5a);

/** A stream with one of every frame type, a zero slice and a full-size slice. */
const stream = Buffer.concat([
  encodeHello(hello),
  encodeWelcome(),
  encodeGet(0),
  encodeGet(0xffff_ffff),
  encodeSliceHeader(0, sliceBytes.length),
  sliceBytes,
  encodeSliceHeader(1, 0, FrameFlags.ZERO),
  encodeSliceHeader(2, fullSlice.length),
  fullSlice,
  encodeError('ERR_SERVER_FULL', 'full'),
  encodeBye(),
]);

describe('frame encoding', () => {
  test('a header holds type, flags, magic, index and length, big-endian, in 12 bytes', () => {
    const h = encodeHeader(FrameType.SLICE, 0x01020304, 0x0a0b0c0d, FrameFlags.ZERO);
    assert.equal(h.length, HEADER_BYTES);
    assert.deepEqual([...h], [FrameType.SLICE, FrameFlags.ZERO, 0xca, 0x5c, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d]);
    assert.equal(h.readUInt16BE(2), FRAME_MAGIC);
  });

  test('GET, WELCOME and BYE are bare headers with no payload', () => {
    for (const f of [encodeGet(5), encodeWelcome(), encodeBye()]) {
      assert.equal(f.length, HEADER_BYTES);
      assert.equal(f.readUInt32BE(8), 0);
    }
    assert.equal(encodeGet(5).readUInt32BE(4), 5);
  });

  test('a HELLO body too large for a control frame is refused with ERR_FRAME_TOO_LARGE', () => {
    assert.throws(
      () => encodeHello({ ...hello, ticket: 't'.repeat(MAX_CONTROL_FRAME_BYTES) }),
      assertCode('ERR_FRAME_TOO_LARGE'),
    );
  });
});

describe('FrameDecoder', () => {
  test('a stream fed whole yields every frame with its payload', () => {
    const frames = feed(decoder(), [stream]);
    assert.deepEqual(
      frames.map((f) => [f.type, f.index, f.length, f.flags]),
      [
        [FrameType.HELLO, 0, encodeHello(hello).length - HEADER_BYTES, 0],
        [FrameType.WELCOME, 0, 0, 0],
        [FrameType.GET, 0, 0, 0],
        [FrameType.GET, 0xffff_ffff, 0, 0],
        [FrameType.SLICE, 0, 1000, 0],
        [FrameType.SLICE, 1, 0, FrameFlags.ZERO],
        [FrameType.SLICE, 2, MAX_SLICE, 0],
        [FrameType.ERROR, 0, encodeError('ERR_SERVER_FULL', 'full').length - HEADER_BYTES, 0],
        [FrameType.BYE, 0, 0, 0],
      ],
    );
    assert.equal(frames[4]?.payload, sliceBytes.toString('hex'));
    assert.equal(frames[6]?.payload, fullSlice.toString('hex'));
  });

  test('a stream fed byte by byte yields the same frames as fed whole', () => {
    const whole = feed(decoder(), [stream]);
    const bytes = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
    assert.deepEqual(feed(decoder(), bytes), whole);
  });

  test('property: a stream fed in random splits yields the same frames as fed whole', () => {
    const whole = feed(decoder(), [stream]);
    fc.assert(
      fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 40 }), (cuts) => {
        assert.deepEqual(feed(decoder(), splitAt(stream, cuts)), whole);
      }),
      { numRuns: 300 },
    );
  });

  test('property: random frame sequences in random splits decode to exactly the frames encoded', () => {
    const frameArb = fc.oneof(
      fc.record({ kind: fc.constant('get' as const), index: fc.nat({ max: 0xffff_ffff }) }),
      fc.record({ kind: fc.constant('welcome' as const) }),
      fc.record({ kind: fc.constant('bye' as const) }),
      fc.record({ kind: fc.constant('zero' as const), index: fc.nat({ max: 0xffff_ffff }) }),
      fc.record({
        kind: fc.constant('slice' as const),
        index: fc.nat({ max: 0xffff_ffff }),
        payload: fc.uint8Array({ minLength: 1, maxLength: 300 }),
      }),
      fc.record({ kind: fc.constant('error' as const), code: fc.string({ maxLength: 20 }), message: fc.string() }),
    );
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 30 }), (specs, cuts) => {
        const expected: Plain[] = [];
        const parts: Buffer[] = [];
        for (const s of specs) {
          let bytes: Buffer;
          let want: Omit<Plain, 'length'>;
          if (s.kind === 'get') {
            bytes = encodeGet(s.index);
            want = { type: FrameType.GET, flags: 0, index: s.index, payload: '' };
          } else if (s.kind === 'welcome') {
            bytes = encodeWelcome();
            want = { type: FrameType.WELCOME, flags: 0, index: 0, payload: '' };
          } else if (s.kind === 'bye') {
            bytes = encodeBye();
            want = { type: FrameType.BYE, flags: 0, index: 0, payload: '' };
          } else if (s.kind === 'zero') {
            bytes = encodeSliceHeader(s.index, 0, FrameFlags.ZERO);
            want = { type: FrameType.SLICE, flags: FrameFlags.ZERO, index: s.index, payload: '' };
          } else if (s.kind === 'slice') {
            const p = Buffer.from(s.payload);
            bytes = Buffer.concat([encodeSliceHeader(s.index, p.length), p]);
            want = { type: FrameType.SLICE, flags: 0, index: s.index, payload: p.toString('hex') };
          } else {
            bytes = encodeError(s.code, s.message);
            want = {
              type: FrameType.ERROR,
              flags: 0,
              index: 0,
              payload: bytes.subarray(HEADER_BYTES).toString('hex'),
            };
          }
          parts.push(bytes);
          expected.push({ ...want, length: want.payload.length / 2 });
        }
        const all = Buffer.concat(parts);
        const d = decoder();
        assert.deepEqual(feed(d, splitAt(all, cuts)), expected);
        assert.equal(d.buffered, 0);
      }),
      { numRuns: 300 },
    );
  });

  test('a frame cut in the middle is held back, counted in buffered, and completed by the next chunk', () => {
    const frame = Buffer.concat([encodeSliceHeader(3, sliceBytes.length), sliceBytes]);
    const d = decoder();
    assert.deepEqual(d.push(frame.subarray(0, 5)), []);
    assert.equal(d.buffered, 5);
    assert.deepEqual(d.push(frame.subarray(5, 400)), []);
    assert.equal(d.buffered, 400 - HEADER_BYTES);
    const out = d.push(frame.subarray(400));
    assert.equal(out.length, 1);
    assert.deepEqual(framePayload(out[0] as Frame), sliceBytes);
    assert.equal(d.buffered, 0);
  });

  test('payload bytes are not copied: a frame fed whole points into the chunk it came from', () => {
    const chunk = Buffer.concat([encodeSliceHeader(0, sliceBytes.length), sliceBytes]);
    const [f] = decoder().push(chunk);
    assert.ok(f);
    const data = f.chunks.filter((c) => c.length > 0);
    assert.equal(data.length, 1);
    assert.equal(data[0]?.buffer, chunk.buffer);
    chunk[HEADER_BYTES] = (chunk[HEADER_BYTES] ?? 0) ^ 0xff;
    assert.equal(framePayload(f)[0], chunk[HEADER_BYTES]);
  });

  test('a SLICE of exactly maxSliceBytes is accepted', () => {
    const frames = feed(decoder([FrameType.SLICE]), [encodeSliceHeader(0, MAX_SLICE), fullSlice]);
    assert.equal(frames.length, 1);
    assert.equal(frames[0]?.length, MAX_SLICE);
  });

  test('a SLICE payload over maxSliceBytes is refused with ERR_FRAME_TOO_LARGE before the payload arrives', () => {
    const d = decoder([FrameType.SLICE]);
    assert.throws(() => d.push(encodeSliceHeader(0, MAX_SLICE + 1)), assertCode('ERR_FRAME_TOO_LARGE'));
    assert.throws(
      () => decoder([FrameType.SLICE]).push(encodeSliceHeader(0, 0xffff_ffff)),
      assertCode('ERR_FRAME_TOO_LARGE'),
    );
  });

  test('an oversized SLICE header split across chunks is refused as soon as the header is complete', () => {
    const d = decoder([FrameType.SLICE]);
    const header = encodeSliceHeader(0, MAX_SLICE + 1);
    assert.deepEqual(d.push(header.subarray(0, 11)), []);
    assert.throws(() => d.push(header.subarray(11)), assertCode('ERR_FRAME_TOO_LARGE'));
  });

  test('a decoder that accepts no slices (a server) refuses any SLICE payload with ERR_FRAME_TOO_LARGE', () => {
    const d = new FrameDecoder({ maxSliceBytes: 0, accept: [FrameType.SLICE] });
    assert.throws(() => d.push(encodeSliceHeader(0, 1)), assertCode('ERR_FRAME_TOO_LARGE'));
  });

  test('a GET, WELCOME or BYE with a payload length above 0 is refused with ERR_FRAME_TOO_LARGE', () => {
    for (const type of [FrameType.GET, FrameType.WELCOME, FrameType.BYE]) {
      assert.throws(() => decoder().push(encodeHeader(type, 0, 1)), assertCode('ERR_FRAME_TOO_LARGE'), `type ${type}`);
    }
  });

  test('a HELLO or ERROR over the control frame limit is refused with ERR_FRAME_TOO_LARGE', () => {
    for (const type of [FrameType.HELLO, FrameType.ERROR]) {
      assert.deepEqual(decoder().push(encodeHeader(type, 0, MAX_CONTROL_FRAME_BYTES)), []);
      assert.throws(
        () => decoder().push(encodeHeader(type, 0, MAX_CONTROL_FRAME_BYTES + 1)),
        assertCode('ERR_FRAME_TOO_LARGE'),
      );
    }
  });

  test('bad magic is refused with ERR_FRAME_MALFORMED', () => {
    const h = encodeGet(1);
    h.writeUInt16BE(0xdead, 2);
    assert.throws(() => decoder().push(h), assertCode('ERR_FRAME_MALFORMED'));
    assert.throws(() => decoder().push(Buffer.from('GET /status HTTP/1.1\r\n\r\n')), assertCode('ERR_FRAME_MALFORMED'));
  });

  test('bad magic after a good frame in the same chunk is refused with ERR_FRAME_MALFORMED', () => {
    const bad = encodeGet(2);
    bad[3] = 0;
    assert.throws(() => decoder().push(Buffer.concat([encodeGet(1), bad])), assertCode('ERR_FRAME_MALFORMED'));
  });

  test('a frame type not in accept is refused with ERR_FRAME_MALFORMED', () => {
    const server = decoder([FrameType.HELLO, FrameType.GET, FrameType.BYE], 0);
    assert.throws(() => server.push(encodeWelcome()), assertCode('ERR_FRAME_MALFORMED'));
    const client = decoder([FrameType.WELCOME, FrameType.SLICE, FrameType.ERROR]);
    assert.throws(() => client.push(encodeGet(0)), assertCode('ERR_FRAME_MALFORMED'));
  });

  test('frame types that do not exist are refused with ERR_FRAME_MALFORMED', () => {
    for (const type of [0, 7, 0xff]) {
      assert.throws(
        () => decoder().push(encodeHeader(type as FrameTypeValue, 0, 0)),
        assertCode('ERR_FRAME_MALFORMED'),
        `type ${type}`,
      );
    }
  });

  test('property: arbitrary bytes never throw anything but a frame CascadeError', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }), (chunks) => {
        const d = decoder();
        try {
          for (const c of chunks) d.push(Buffer.from(c));
        } catch (err) {
          assert.ok(err instanceof CascadeError, `threw ${String(err)}`);
          assert.ok(err.code === 'ERR_FRAME_MALFORMED' || err.code === 'ERR_FRAME_TOO_LARGE', err.code);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('HELLO and ERROR bodies', () => {
  const one = (bytes: Buffer): Frame => {
    const frames = decoder().push(bytes);
    assert.equal(frames.length, 1);
    return frames[0] as Frame;
  };
  const withBody = (type: FrameTypeValue, body: Buffer): Frame =>
    one(Buffer.concat([encodeHeader(type, 0, body.length), body]));

  test('a HELLO body round-trips', () => {
    assert.deepEqual(decodeHelloBody(one(encodeHello(hello))), hello);
  });

  test('a HELLO body split over many chunks round-trips', () => {
    const bytes = encodeHello(hello);
    const d = decoder();
    const frames: Frame[] = [];
    for (let i = 0; i < bytes.length; i += 3) frames.push(...d.push(bytes.subarray(i, i + 3)));
    assert.equal(frames.length, 1);
    assert.deepEqual(decodeHelloBody(frames[0] as Frame), hello);
  });

  test('property: any HELLO of strings round-trips', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.string({ maxLength: 300 }),
        fc.string(),
        (session, imageId, ticket, client) => {
          const h = { session, imageId, ticket, client };
          assert.deepEqual(decodeHelloBody(one(encodeHello(h))), h);
        },
      ),
    );
  });

  test('an ERROR body round-trips', () => {
    assert.deepEqual(decodeErrorBody(one(encodeError('ERR_TICKET_INVALID', 'ticket refused: expired'))), {
      code: 'ERR_TICKET_INVALID',
      message: 'ticket refused: expired',
    });
  });

  test('an ERROR message is cut to 1024 characters', () => {
    const body = decodeErrorBody(one(encodeError('ERR_SERVER_FULL', 'x'.repeat(5000))));
    assert.equal(body.code, 'ERR_SERVER_FULL');
    assert.equal(body.message, 'x'.repeat(1024));
  });

  test('an ERROR body without a code reads as ERR_FRAME_MALFORMED', () => {
    assert.deepEqual(decodeErrorBody(withBody(FrameType.ERROR, msgpack.encode({}))), {
      code: 'ERR_FRAME_MALFORMED',
      message: '',
    });
  });

  test('an ERROR body that is not msgpack is refused with ERR_FRAME_MALFORMED', () => {
    assert.throws(
      () => decodeErrorBody(withBody(FrameType.ERROR, Buffer.from([0xc1]))),
      assertCode('ERR_FRAME_MALFORMED'),
    );
  });

  test('a HELLO with missing or ill-typed fields is refused with ERR_FRAME_MALFORMED', () => {
    const bodies: unknown[] = [
      {},
      { session: 's', imageId: 'i', ticket: 't' },
      { session: 's', imageId: 'i', client: 'c' },
      { session: 's', ticket: 't', client: 'c' },
      { imageId: 'i', ticket: 't', client: 'c' },
      { session: 's', imageId: 'i', ticket: 42, client: 'c' },
      { session: null, imageId: 'i', ticket: 't', client: 'c' },
      ['s', 'i', 't', 'c'],
    ];
    for (const b of bodies) {
      assert.throws(
        () => decodeHelloBody(withBody(FrameType.HELLO, msgpack.encode(b))),
        assertCode('ERR_FRAME_MALFORMED'),
        JSON.stringify(b),
      );
    }
  });

  test('a HELLO body that is not a msgpack map is refused with ERR_FRAME_MALFORMED', () => {
    for (const body of [
      Buffer.from([0xc1]),
      Buffer.alloc(0),
      msgpack.encode('hello'),
      msgpack.encode(7),
      msgpack.encode(null),
    ]) {
      assert.throws(() => decodeHelloBody(withBody(FrameType.HELLO, body)), assertCode('ERR_FRAME_MALFORMED'));
    }
  });
});

describe('FrameDecoder: SLICE bodies as they arrive (relay cut-through)', () => {
  /** A decoder that records what its SliceBodyListener hears. */
  function listening(): { d: FrameDecoder; starts: number[][]; data: Map<number, Buffer[]> } {
    const starts: number[][] = [];
    const data = new Map<number, Buffer[]>();
    const d = new FrameDecoder({
      maxSliceBytes: MAX_SLICE,
      accept: ALL_TYPES,
      sliceBody: {
        sliceStart: (index, length, flags) => starts.push([index, length, flags]),
        sliceData: (index, chunk) => data.set(index, [...(data.get(index) ?? []), chunk]),
      },
    });
    return { d, starts, data };
  }

  test('property: in any split, each slice is announced with its header and its body arrives in order, uncopied', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 40 }), (cuts) => {
        const { d, starts, data } = listening();
        const pieces = splitAt(stream, cuts);
        const frames = feed(d, pieces);
        assert.equal(frames.length, 9, 'the whole frames are still returned');
        assert.deepEqual(starts, [
          [0, sliceBytes.length, 0],
          [1, 0, FrameFlags.ZERO],
          [2, fullSlice.length, 0],
        ]);
        assert.deepEqual(Buffer.concat(data.get(0) ?? []), sliceBytes);
        assert.deepEqual(Buffer.concat(data.get(2) ?? []), fullSlice);
        assert.equal(data.has(1), false, 'a ZERO slice has no body');
        for (const c of [...(data.get(0) ?? []), ...(data.get(2) ?? [])]) {
          assert.ok(c.length > 0, 'no empty chunks');
          assert.equal(c.buffer, stream.buffer, 'body bytes are views of the pushed chunks, never copies');
        }
      }),
      { numRuns: 300 },
    );
  });

  test('body bytes are announced as each chunk is pushed, before the frame is whole', () => {
    const { d, starts, data } = listening();
    const body = Buffer.alloc(3000, 7);
    const wire = Buffer.concat([encodeSliceHeader(5, body.length), body]);
    assert.deepEqual(d.push(wire.subarray(0, 5)), []);
    assert.deepEqual(starts, [], 'no announcement before the header is whole');
    assert.deepEqual(d.push(wire.subarray(5, 1012)), []);
    assert.deepEqual(starts, [[5, 3000, 0]]);
    assert.equal(Buffer.concat(data.get(5) ?? []).length, 1000, 'the first 1000 bytes heard at once');
    const frames = d.push(wire.subarray(1012));
    assert.equal(frames.length, 1);
    assert.equal(Buffer.concat(data.get(5) ?? []).length, 3000);
  });

  test('a header split across pushes copies only its own bytes, not the body behind it', () => {
    const { d, data } = listening();
    const body = Buffer.alloc(500, 9);
    const wire = Buffer.concat([encodeSliceHeader(3, body.length), body]);
    d.push(wire.subarray(0, 4));
    const rest = wire.subarray(4);
    const [frame] = d.push(rest);
    assert.equal(frame?.chunks[0]?.buffer, rest.buffer, 'the frame body is a view of the pushed chunk');
    assert.equal(data.get(3)?.[0]?.buffer, rest.buffer);
  });
});

describe('FrameDecoder: reads straight into the slice body (want / pushInto)', () => {
  const pool = (): BufferPool => new BufferPool(MAX_SLICE, 4, true);

  test('between frames it wants a header at most; in a SLICE body, the rest of the pooled body', () => {
    const d = new FrameDecoder({ maxSliceBytes: MAX_SLICE, accept: ALL_TYPES, copyTo: pool() });
    assert.deepEqual(d.want(), { limit: 12 });
    const header = encodeSliceHeader(4, 1000);
    d.push(header.subarray(0, 5));
    assert.deepEqual(d.want(), { limit: 7 }, 'the rest of a split header');
    d.push(header.subarray(5));
    const w = d.want();
    assert.ok('into' in w && w.into.length === 1000, 'the whole body');
    const body = noise(1000, 4);
    body.copy(w.into, 0, 0, 600);
    assert.deepEqual(d.pushInto(600), [], 'not whole yet');
    const rest = d.want();
    assert.ok('into' in rest && rest.into.length === 400 && rest.into.byteOffset === w.into.byteOffset + 600);
    body.copy(rest.into, 0, 600);
    const [f] = d.pushInto(400);
    assert.equal(f?.index, 4);
    assert.ok(Buffer.concat(f?.chunks ?? []).equals(body));
    assert.deepEqual(d.want(), { limit: 12 });
  });

  test('bytes it did not ask for are refused with ERR_INTERNAL (never counted into a body)', () => {
    const d = new FrameDecoder({ maxSliceBytes: MAX_SLICE, accept: ALL_TYPES, copyTo: pool() });
    assert.throws(
      () => d.pushInto(10),
      (e: unknown) => e instanceof CascadeError && e.code === 'ERR_INTERNAL',
    );
    d.push(encodeSliceHeader(0, 100));
    assert.throws(
      () => d.pushInto(101),
      (e: unknown) => e instanceof CascadeError && e.code === 'ERR_INTERNAL',
    );
    assert.throws(
      () => d.pushInto(0),
      (e: unknown) => e instanceof CascadeError && e.code === 'ERR_INTERNAL',
    );
  });
});
