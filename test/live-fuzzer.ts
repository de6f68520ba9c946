import { connect } from 'node:net';
import {
  encodeBye,
  encodeControl,
  encodeError,
  encodeGet,
  encodeHeader,
  encodeHello,
  FrameType,
  PROTOCOL_VERSION,
  type ClientMessage,
} from '@cascade/common';
import WebSocket from 'ws';

/** Deterministic PRNG (xorshift32) so a failing run can be replayed with its seed. */
export class Rng {
  private x: number;
  constructor(seed: number) {
    this.x = seed >>> 0 || 1;
  }
  next(): number {
    this.x ^= this.x << 13;
    this.x >>>= 0;
    this.x ^= this.x >>> 17;
    this.x ^= this.x << 5;
    this.x >>>= 0;
    return this.x;
  }
  int(n: number): number {
    return this.next() % n;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
}

/** Flip, cut, extend or splice a valid message; sometimes pure noise. */
export function mutate(rng: Rng, valid: Buffer, other: Buffer): Buffer {
  const b = Buffer.from(valid);
  switch (rng.int(6)) {
    case 0: {
      for (let k = 1 + rng.int(4); k > 0 && b.length > 0; k--) b[rng.int(b.length)] = rng.next() & 0xff;
      return b;
    }
    case 1:
      return b.subarray(0, rng.int(b.length + 1));
    case 2:
      return Buffer.concat([b, rng.bytes(1 + rng.int(64))]);
    case 3:
      return Buffer.concat([b.subarray(0, rng.int(b.length + 1)), other.subarray(rng.int(other.length + 1))]);
    case 4:
      return rng.bytes(rng.int(256));
    default:
      return b; // a valid message, sent out of turn or repeated
  }
}

/** Valid client messages for fuzz sessions only (never the session under test). */
export function controlTemplates(manifest: Record<string, unknown>): Buffer[] {
  const roles = ['peer', 'seeder', 'observer', 'operator'] as const;
  const msgs: ClientMessage[] = [
    ...roles.map((role, i) => ({
      type: 'hello' as const,
      protocol: PROTOCOL_VERSION,
      role,
      id: `fuzz-${role}-${i}`,
      name: `fuzz-${role}`,
      session: 'fuzz-a',
    })),
    { type: 'open-session', manifest, options: { startCount: 2 } },
    { type: 'serve', host: '127.0.0.1', port: 9, capacity: 3 },
    { type: 'want', have: 0 },
    { type: 'want', have: 3, activeServer: 'fuzz-seeder-1' },
    { type: 'progress', slices: 1, bytes: 4096, rate: 1e6 },
    { type: 'done', server: 'fuzz-seeder-1', bytes: 1, ms: 1 },
    { type: 'failed', server: 'fuzz-seeder-1', code: 'ERR_SERVER_BAD', reason: 'x', badSlices: [1, 2] },
    { type: 'leave', reason: 'fuzz' },
    { type: 'start-session', session: 'fuzz-b' },
    { type: 'end-session', session: 'fuzz-b' },
    { type: 'set-session', session: 'fuzz-b', options: { endCount: 1 } },
    { type: 'get-status', session: 'fuzz-a' },
  ];
  return msgs.map((m) => encodeControl(m));
}

/** Valid data-plane frames (a HELLO with a ticket that cannot be valid). */
export function dataTemplates(session: string, imageId: string): Buffer[] {
  return [
    encodeHello({ session, imageId, ticket: 'eyJ4IjoxfQ.AAAA', client: 'fuzz' }),
    encodeGet(0),
    encodeGet(0xffffffff),
    encodeBye(),
    encodeError('ERR_FRAME_MALFORMED', 'fuzz'),
    encodeHeader(FrameType.SLICE, 0, 4 * 1024 * 1024),
    encodeHeader(FrameType.HELLO, 0, 0xffffffff),
  ];
}

export interface FuzzStats {
  connections: number;
  messages: number;
}

/** One ws connection: send `count` fuzz messages (text frames too), then close. Never throws. */
async function wsConnection(url: string, local: string, rng: Rng, templates: Buffer[], count: number): Promise<number> {
  const ws = new WebSocket(url, { localAddress: local, perMessageDeflate: false });
  ws.on('error', () => undefined);
  const opened = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), 3000);
    ws.once('open', () => (clearTimeout(t), resolve(true)));
    ws.once('close', () => (clearTimeout(t), resolve(false)));
  });
  let sent = 0;
  if (opened) {
    if (rng.int(2) === 0) ws.send(templates[rng.int(4)] as Buffer); // a valid hello first, half the time
    for (let i = 0; i < count && ws.readyState === WebSocket.OPEN; i++) {
      const m = mutate(rng, rng.pick(templates), rng.pick(templates));
      if (rng.int(20) === 0) ws.send(m.toString('latin1'));
      else ws.send(m);
      sent++;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  ws.terminate();
  return sent;
}

/** Throw `total` messages at a coordinator's ws port over many connections from several addresses. */
export async function fuzzControl(url: string, rng: Rng, templates: Buffer[], total: number): Promise<FuzzStats> {
  const stats: FuzzStats = { connections: 0, messages: 0 };
  const lanes = 16;
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      const local = `127.0.8.${lane + 1}`;
      for (let guard = 0; stats.messages < total && guard < total; guard++) {
        stats.connections++;
        const sent = await wsConnection(url, local, rng, templates, 1 + rng.int(24));
        stats.messages += sent; // not `+= await`: that would read the total before the await
      }
    }),
  );
  return stats;
}

/** One TCP connection to a data port: send 1–5 fuzz frames at once, then close. Never throws. */
function dataConnection(host: string, port: number, rng: Rng, templates: Buffer[]): Promise<number> {
  const n = 1 + rng.int(5);
  const payload = Buffer.concat(Array.from({ length: n }, () => mutate(rng, rng.pick(templates), rng.pick(templates))));
  return new Promise((resolve) => {
    const s = connect({ host, port, localAddress: '127.0.8.99' });
    const t = setTimeout(() => s.destroy(), 2000);
    s.on('error', () => undefined);
    s.on('close', () => (clearTimeout(t), resolve(n)));
    s.on('connect', () => s.end(payload));
    s.on('data', () => undefined);
  });
}

/** Throw `total` frames at a slice server's data port, a few connections at a time. */
export async function fuzzData(
  host: string,
  port: number,
  rng: Rng,
  templates: Buffer[],
  total: number,
): Promise<FuzzStats> {
  const stats: FuzzStats = { connections: 0, messages: 0 };
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let guard = 0; stats.messages < total && guard < total; guard++) {
        stats.connections++;
        const sent = await dataConnection(host, port, rng, templates);
        stats.messages += sent;
      }
    }),
  );
  return stats;
}
