import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import msgpack from 'msgpack-lite';
import { CascadeError, type ErrorCode } from '../src/errors.js';
import {
  decodeClientMessage,
  decodeCoordinatorMessage,
  encodeControl,
  MAX_CONTROL_MESSAGE_BYTES,
} from '../src/protocol/control-codec.js';
import {
  clientMessageTypes,
  coordinatorMessageTypes,
  PROTOCOL_VERSION,
  type ClientMessage,
  type CoordinatorMessage,
} from '../src/protocol/control-messages.js';
import type { StatusSnapshot } from '../src/protocol/status-snapshot.js';

function assertCode(code: ErrorCode): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof CascadeError, `expected a CascadeError, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return true;
  };
}

/** Encode any value with plain msgpack (not the typed encoder), to build hostile input. */
const raw = (value: unknown): Buffer => msgpack.encode(value);

const manifestLike = {
  version: 1,
  imageId: '0123456789abcdef0123456789abcdef',
  name: 'lab.img',
  size: 131072,
  sliceSize: 65536,
  digest: 'md5',
  digests: ['00112233445566778899aabbccddeeff', 'ffeeddccbbaa99887766554433221100'],
  zero: 'AA==',
};

/** One (or more) valid sample of every message a client sends. */
const clientSamples: ClientMessage[] = [
  { type: 'hello', protocol: PROTOCOL_VERSION, role: 'peer', id: 'peer-1', name: 'lab-12', session: 'lab-a' },
  {
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    role: 'operator',
    id: 'op',
    name: 'console',
    auth: Buffer.from([1, 2, 3, 250]),
  },
  { type: 'hello', protocol: PROTOCOL_VERSION, role: 'seeder', id: 's', name: 'fileserver' },
  { type: 'hello', protocol: PROTOCOL_VERSION, role: 'observer', id: 'o', name: 'watch' },
  {
    type: 'open-session',
    manifest: manifestLike,
    options: { startCount: 10, startAfterMs: 60_000, endCount: 40, lingerMs: 5000, relay: true, startManual: false },
  },
  { type: 'open-session', manifest: {}, options: {} },
  { type: 'serve', host: '10.0.0.5', port: 7771, capacity: 3 },
  { type: 'serve', host: 'lab-12.local', port: 65535, capacity: 0, relay: true },
  { type: 'want', have: 0 },
  { type: 'want', have: 1234, activeServer: 'seeder-1' },
  { type: 'progress', slices: 17, bytes: 17 * 65536, rate: 11.5e6 },
  { type: 'done', server: 'seeder-1', bytes: 268_435_456, ms: 21_000 },
  { type: 'dropped', client: 'peer-7', code: 'ERR_CLIENT_TOO_SLOW' },
  { type: 'failed', server: 'peer-3', code: 'ERR_SERVER_BAD', reason: 'three bad slices', badSlices: [2, 9, 9] },
  { type: 'leave', reason: 'operator pressed ctrl-c' },
  { type: 'start-session', session: 'lab-a' },
  { type: 'end-session', session: 'lab-a' },
  { type: 'set-session', session: 'lab-a', options: { startCount: 3 } },
  { type: 'get-status' },
  { type: 'get-status', session: 'lab-a' },
];

/** A status snapshot with one of everything a session shows. */
const statusSample: StatusSnapshot = {
  now: 1_700_000_060_000,
  sessions: [
    {
      name: 'lab-a',
      state: 'running',
      image: { name: 'win11.img', imageId: 'abc123', size: 8 * 2 ** 30, slices: 128 },
      options: { startCount: 10, relay: true },
      openedAt: 1_700_000_000_000,
      startedAt: 1_700_000_010_000,
      endedAt: null,
      endReason: null,
      imaged: 1,
      expected: 40,
      waiting: [
        { position: 0, id: 'p-3', name: 'lab-3', ip: '10.0.0.13', mac: 'aa:bb:cc:00:00:03', since: 1_700_000_020_000 },
      ],
      servers: [
        {
          ...{ id: 'seed', name: 'seed', host: '10.0.0.1:7771', ip: '10.0.0.1', capacity: 2, active: 1, served: 1 },
          ...{ bytesServed: 2 ** 33, relay: false, quarantined: false, unreachable: false },
        },
      ],
      transfers: [
        {
          ...{ client: 'p-2', clientName: 'lab-2', clientIp: '10.0.0.12', server: 'seed', serverName: 'seed' },
          ...{ since: 1_700_000_030_000, slices: 5, bytes: 5 * 2 ** 26, rate: 11.5e6 },
        },
      ],
      progression: [{ at: 1_700_000_050_000, imaged: 1 }],
      tree: [{ client: 'lab-1', server: 'seed', ip: '10.0.0.11', mac: null }],
      roster: [
        {
          ...{ id: 'p-1', name: 'lab-1', ip: '10.0.0.11', mac: null, outcome: 'imaged', code: null, reason: null },
          ...{ joinedAt: 1_700_000_001_000, imagedAt: 1_700_000_050_000, source: 'seed' },
        },
        {
          ...{ id: 'p-4', name: 'lab-4', ip: '10.0.0.14', mac: null, outcome: 'failed' },
          ...{ code: 'ERR_TARGET_UNUSABLE', reason: 'target /dev/sdz: ENOENT' },
          ...{ joinedAt: 1_700_000_001_000, imagedAt: null, source: null },
        },
      ],
      summary: { imaged: 1, failed: 1, waiting: 2, expected: 40 },
      completeSources: 2,
      noSource: false,
    },
  ],
  warnings: [
    { at: 1_700_000_040_000, event: 'server-lost', detail: 'lab-9 disconnected' },
    {
      ...{ at: 1_700_000_041_000, event: 'transfer-failed', detail: 'lab-2 from lab-9: reset' },
      ...{ reportedBy: 'lab-2', code: 'ERR_SERVER_LOST' },
    },
  ],
};

/** One (or more) valid sample of every message the coordinator sends. */
const coordinatorSamples: CoordinatorMessage[] = [
  { type: 'challenge', nonce: Buffer.alloc(32, 9), auth: true },
  { type: 'challenge', nonce: Buffer.alloc(32, 1), auth: false },
  { type: 'welcome', protocol: PROTOCOL_VERSION, id: 'peer-1' },
  { type: 'error', code: 'ERR_UNKNOWN_SESSION', message: 'no session "lab-z"' },
  { type: 'session', session: 'lab-a', manifest: manifestLike, options: { relay: false } },
  { type: 'queued', position: 0 },
  { type: 'queued', position: 41 },
  {
    type: 'assign',
    server: { id: 'seeder-1', name: 'fileserver', host: '10.0.0.1', port: 7771 },
    ticket: 'eyJzZXNzaW9uIjoibGFiIn0.c2ln',
  },
  { type: 'serving', serverId: 'peer-3', ticketKey: Buffer.alloc(32, 7) },
  { type: 'session-ended', session: 'lab-a', reason: 'end-count reached' },
  { type: 'ack', of: 'start-session' },
  { type: 'ack', of: 'end-session', session: 'lab-a' },
  { type: 'status', status: { now: 1_700_000_000_000, sessions: [], warnings: [] } },
  { type: 'status', status: statusSample },
];

describe('control messages round trip', () => {
  test('the samples cover every client message type and every coordinator message type', () => {
    assert.deepEqual(new Set(clientSamples.map((m) => m.type)), new Set(clientMessageTypes));
    assert.deepEqual(new Set(coordinatorSamples.map((m) => m.type)), new Set(coordinatorMessageTypes));
  });

  for (const msg of clientSamples) {
    test(`a client "${msg.type}" message decodes to what was encoded (${Object.keys(msg).join(',')})`, () => {
      const bytes = encodeControl(msg);
      assert.ok(Buffer.isBuffer(bytes));
      assert.deepEqual(decodeClientMessage(bytes), msg);
    });
  }

  for (const msg of coordinatorSamples) {
    test(`a coordinator "${msg.type}" message decodes to what was encoded (${Object.keys(msg).join(',')})`, () => {
      assert.deepEqual(decodeCoordinatorMessage(encodeControl(msg)), msg);
    });
  }

  test('binary fields come back as bytes, not as strings or arrays', () => {
    const msg = decodeCoordinatorMessage(
      encodeControl({ type: 'serving', serverId: 'x', ticketKey: Buffer.alloc(32, 9) }),
    );
    assert.equal(msg.type, 'serving');
    if (msg.type !== 'serving') return;
    assert.ok(msg.ticketKey instanceof Uint8Array);
    assert.deepEqual(Buffer.from(msg.ticketKey), Buffer.alloc(32, 9));
  });

  test('a message in a Uint8Array view at an offset inside a larger buffer decodes correctly', () => {
    const bytes = encodeControl({ type: 'queued', position: 5 });
    const big = new Uint8Array(bytes.length + 20);
    big.fill(0xc1); // bytes that are never valid msgpack around the message
    big.set(bytes, 10);
    const view = big.subarray(10, 10 + bytes.length);
    assert.deepEqual(decodeCoordinatorMessage(view), { type: 'queued', position: 5 });
  });

  test('unknown extra fields are dropped by validation', () => {
    const msg = decodeClientMessage(raw({ type: 'leave', reason: 'bye', extra: 'ignored', admin: true }));
    assert.deepEqual(msg, { type: 'leave', reason: 'bye' });
  });

  test('property: any valid progress message round-trips', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.nat(),
        fc.double({ min: 0, max: 1e12, noNaN: true, noDefaultInfinity: true }),
        (slices, bytes, rate) => {
          const msg: ClientMessage = { type: 'progress', slices, bytes, rate };
          assert.deepEqual(decodeClientMessage(encodeControl(msg)), msg);
        },
      ),
    );
  });
});

describe('control messages that are refused', () => {
  test('bytes that are not msgpack are refused with ERR_MESSAGE_MALFORMED', () => {
    const truncated = encodeControl(clientSamples[0] as ClientMessage).subarray(0, 10);
    for (const bytes of [Buffer.alloc(0), Buffer.from([0xc1]), truncated, Buffer.from([0x92, 0x01])]) {
      assert.throws(() => decodeClientMessage(bytes), assertCode('ERR_MESSAGE_MALFORMED'));
      assert.throws(() => decodeCoordinatorMessage(bytes), assertCode('ERR_MESSAGE_MALFORMED'));
    }
  });

  test('a msgpack value that is not a map is refused with ERR_MESSAGE_MALFORMED', () => {
    const values: unknown[] = [
      ['hello', 1],
      [{ type: 'leave', reason: 'x' }],
      'hello',
      'leave',
      42,
      null,
      true,
      Buffer.from('type'),
    ];
    for (const v of values) {
      assert.throws(() => decodeClientMessage(raw(v)), assertCode('ERR_MESSAGE_MALFORMED'), JSON.stringify(v));
      assert.throws(() => decodeCoordinatorMessage(raw(v)), assertCode('ERR_MESSAGE_MALFORMED'), JSON.stringify(v));
    }
  });

  test('a map without a string type is refused with ERR_MESSAGE_MALFORMED', () => {
    for (const v of [{}, { reason: 'x' }, { type: 7 }, { type: null }, { type: ['leave'] }]) {
      assert.throws(() => decodeClientMessage(raw(v)), assertCode('ERR_MESSAGE_MALFORMED'), JSON.stringify(v));
    }
  });

  test('an unknown type is refused with ERR_MESSAGE_UNKNOWN_TYPE', () => {
    for (const type of ['shutdown', '', 'HELLO', 'hello ', '__proto__', 'constructor', 'x'.repeat(10_000)]) {
      assert.throws(() => decodeClientMessage(raw({ type })), assertCode('ERR_MESSAGE_UNKNOWN_TYPE'), type);
    }
  });

  test('the unknown-type error quotes at most 64 characters of the type', () => {
    assert.throws(
      () => decodeClientMessage(raw({ type: 'y'.repeat(5000) })),
      (err: unknown) => err instanceof CascadeError && err.message.length < 200,
    );
  });

  test('a coordinator message sent to the coordinator is refused with ERR_MESSAGE_UNKNOWN_TYPE, and the reverse', () => {
    assert.throws(
      () => decodeClientMessage(encodeControl({ type: 'welcome', protocol: 1, id: 'x' })),
      assertCode('ERR_MESSAGE_UNKNOWN_TYPE'),
    );
    assert.throws(
      () => decodeCoordinatorMessage(encodeControl({ type: 'leave', reason: 'x' })),
      assertCode('ERR_MESSAGE_UNKNOWN_TYPE'),
    );
  });

  test('missing or ill-typed fields are refused with ERR_MESSAGE_MALFORMED', () => {
    const hello = { type: 'hello', protocol: 1, role: 'peer', id: 'p', name: 'n' };
    const bad: Array<Record<string, unknown>> = [
      { type: 'hello', protocol: 1, role: 'peer', id: 'p' },
      { ...hello, protocol: '1' },
      { ...hello, protocol: 1.5 },
      { ...hello, role: 'admin' },
      { ...hello, id: '' },
      { ...hello, id: 'i'.repeat(65) },
      { ...hello, name: 'n'.repeat(129) },
      { ...hello, auth: 'secret' },
      { ...hello, session: 3 },
      { type: 'serve', host: '10.0.0.1', port: '7771', capacity: 3 },
      { type: 'serve', host: '10.0.0.1', port: 0, capacity: 3 },
      { type: 'serve', host: '10.0.0.1', port: 65536, capacity: 3 },
      { type: 'serve', host: '', port: 7771, capacity: 3 },
      { type: 'serve', host: '10.0.0.1', port: 7771, capacity: -1 },
      { type: 'serve', host: '10.0.0.1', port: 7771, capacity: 1025 },
      { type: 'serve', host: '10.0.0.1', port: 7771 },
      { type: 'want' },
      { type: 'want', have: -1 },
      { type: 'want', have: 1.5 },
      { type: 'progress', slices: 1, bytes: 1, rate: -1 },
      { type: 'progress', slices: 1, bytes: 1 },
      { type: 'done', server: 's', bytes: 1 },
      { type: 'failed', server: 's', code: 'E', reason: 'r', badSlices: 'all' },
      { type: 'failed', server: 's', code: 'E', reason: 'r', badSlices: [-1] },
      { type: 'failed', server: 's', code: 'E', reason: 'r'.repeat(1025), badSlices: [] },
      { type: 'leave' },
      { type: 'open-session', manifest: 'm', options: {} },
      { type: 'open-session', manifest: {}, options: { startCount: -3 } },
      { type: 'open-session', manifest: {} },
      { type: 'set-session', session: 'lab', options: { relay: 'yes' } },
      { type: 'start-session' },
      { type: 'end-session', session: '' },
    ];
    for (const v of bad) {
      assert.throws(() => decodeClientMessage(raw(v)), assertCode('ERR_MESSAGE_MALFORMED'), JSON.stringify(v));
    }
  });

  test('missing or ill-typed coordinator fields are refused with ERR_MESSAGE_MALFORMED', () => {
    const bad: Array<Record<string, unknown>> = [
      { type: 'welcome', protocol: 1 },
      { type: 'error', code: 'E' },
      { type: 'queued', position: -1 },
      { type: 'assign', server: { id: 's', name: 'n', host: 'h' }, ticket: 't' },
      { type: 'assign', server: { id: 's', name: 'n', host: 'h', port: 1 }, ticket: 't'.repeat(2049) },
      { type: 'serving', serverId: 's', ticketKey: 'not-binary' },
      { type: 'session-ended', session: 'lab' },
      { type: 'status', status: 'ok' },
      { type: 'status', status: { sessions: [{ name: 'lab-a', imaged: 3 }], at: 1_700_000_000_000 } },
      { type: 'status', status: { ...statusSample, warnings: [{ at: 1, event: 'x' }] } },
      { type: 'status', status: { ...statusSample, sessions: [{ ...statusSample.sessions[0], state: 'bogus' }] } },
      { type: 'status', status: { ...statusSample, sessions: [{ ...statusSample.sessions[0], imaged: -1 }] } },
    ];
    for (const v of bad) {
      assert.throws(() => decodeCoordinatorMessage(raw(v)), assertCode('ERR_MESSAGE_MALFORMED'), JSON.stringify(v));
    }
  });

  test('a message over maxBytes is refused with ERR_MESSAGE_TOO_LARGE, and one exactly at the limit is not', () => {
    const msg: ClientMessage = { type: 'leave', reason: 'r'.repeat(200) };
    const bytes = encodeControl(msg);
    assert.deepEqual(decodeClientMessage(bytes, bytes.length), msg);
    assert.throws(() => decodeClientMessage(bytes, bytes.length - 1), assertCode('ERR_MESSAGE_TOO_LARGE'));
    assert.throws(() => decodeCoordinatorMessage(bytes, 100), assertCode('ERR_MESSAGE_TOO_LARGE'));
  });

  test('the size limit is checked before parsing: oversized garbage is ERR_MESSAGE_TOO_LARGE', () => {
    assert.throws(() => decodeClientMessage(Buffer.alloc(101, 0xc1), 100), assertCode('ERR_MESSAGE_TOO_LARGE'));
  });

  test('the default limit is MAX_CONTROL_MESSAGE_BYTES', () => {
    const big = Buffer.alloc(MAX_CONTROL_MESSAGE_BYTES + 1, 0xc1);
    assert.throws(() => decodeClientMessage(big), assertCode('ERR_MESSAGE_TOO_LARGE'));
    assert.throws(() => decodeCoordinatorMessage(big), assertCode('ERR_MESSAGE_TOO_LARGE'));
  });
});

describe('control codec fuzzing', () => {
  const allowed = new Set<string>(['ERR_MESSAGE_MALFORMED', 'ERR_MESSAGE_UNKNOWN_TYPE', 'ERR_MESSAGE_TOO_LARGE']);

  function onlyCascadeErrors(decode: () => unknown): void {
    try {
      decode();
    } catch (err) {
      assert.ok(err instanceof CascadeError, `threw a non-CascadeError: ${String(err)}`);
      assert.ok(allowed.has(err.code), `unexpected code ${err.code}`);
    }
  }

  test('property: arbitrary bytes never throw anything but a CascadeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        onlyCascadeErrors(() => decodeClientMessage(bytes));
        onlyCascadeErrors(() => decodeCoordinatorMessage(bytes));
        onlyCascadeErrors(() => decodeClientMessage(bytes, 64));
      }),
      { numRuns: 2000 },
    );
  });

  test('property: a valid message with bytes flipped or cut never throws anything but a CascadeError', () => {
    const samples = [...clientSamples, ...coordinatorSamples].map((m) => encodeControl(m));
    fc.assert(
      fc.property(
        fc.constantFrom(...samples),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(),
        (bytes, flips, cut) => {
          const b = Buffer.from(bytes);
          for (const [at, value] of flips) b[at % b.length] = value;
          const mutated = b.subarray(0, b.length - (cut % 3));
          onlyCascadeErrors(() => decodeClientMessage(mutated));
          onlyCascadeErrors(() => decodeCoordinatorMessage(mutated));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('property: arbitrary msgpack-encoded JSON values never throw anything but a CascadeError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record({ type: fc.constantFrom(...clientMessageTypes, ...coordinatorMessageTypes) }, { requiredKeys: [] }),
          fc.dictionary(fc.constantFrom('type', 'session', 'port', 'have', 'manifest'), fc.jsonValue()),
        ),
        (value) => {
          const bytes = raw(value);
          onlyCascadeErrors(() => decodeClientMessage(bytes));
          onlyCascadeErrors(() => decodeCoordinatorMessage(bytes));
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('decoding refuses smuggled content', () => {
  test('trailing bytes after one message are refused with ERR_MESSAGE_MALFORMED', () => {
    const good = encodeControl({ type: 'leave', reason: 'x' });
    assert.throws(
      () => decodeClientMessage(Buffer.concat([good, Buffer.from([1, 2, 3])])),
      assertCode('ERR_MESSAGE_MALFORMED'),
    );
    assert.throws(
      () => decodeClientMessage(Buffer.concat([good, Buffer.from([0x92])])),
      assertCode('ERR_MESSAGE_MALFORMED'),
    );
  });

  test('a map whose key is __proto__ is refused with ERR_MESSAGE_MALFORMED', () => {
    // fixmap(1) { "__proto__": { type: "leave", reason: "x" } }, built by hand
    const inner = msgpack.encode({ type: 'leave', reason: 'x' });
    const key = msgpack.encode('__proto__');
    const frame = Buffer.concat([Buffer.from([0x81]), key, inner]);
    assert.throws(() => decodeClientMessage(frame), assertCode('ERR_MESSAGE_MALFORMED'));
  });
});
