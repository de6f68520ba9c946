import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import msgpack from 'msgpack-lite';
import { CascadeError } from '../src/errors.js';
import { checkMsgpackShape, CLIENT_SHAPE_LIMITS } from '../src/protocol/msgpack-shape.js';

const limits = { maxValues: 100, maxContainers: 4, maxDepth: 3 };
const refused = (buf: Buffer, l = limits): void =>
  assert.throws(
    () => checkMsgpackShape(buf, l),
    (e: unknown) => e instanceof CascadeError && e.code === 'ERR_MESSAGE_MALFORMED',
  );

describe('checkMsgpackShape', () => {
  test('accepts ordinary messages of every value kind', () => {
    const msg = {
      type: 'hello',
      n: -5,
      big: 2 ** 40,
      f: 1.5,
      ok: true,
      no: null,
      s: 'x'.repeat(300),
      b: Buffer.alloc(70_000),
      a: [1, 2],
    };
    checkMsgpackShape(msgpack.encode(msg), CLIENT_SHAPE_LIMITS);
  });

  test('refuses too many containers, too many values, too deep, truncated and trailing bytes', () => {
    refused(msgpack.encode([{}, {}, {}, {}]));
    refused(msgpack.encode(new Array(200).fill(0)));
    refused(msgpack.encode({ a: { b: { c: {} } } }));
    refused(msgpack.encode({ type: 'hello' }).subarray(0, 5));
    refused(Buffer.concat([msgpack.encode({ type: 'x' }), Buffer.from([0])]));
    refused(Buffer.from([0xc1]));
  });

  test('a declared array of 16 million entries is refused from its header alone', () => {
    const b = Buffer.alloc(5, 0);
    b[0] = 0xdd;
    b.writeUInt32BE(16_000_000, 1);
    refused(b, CLIENT_SHAPE_LIMITS);
  });
});
