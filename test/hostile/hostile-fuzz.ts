import type { Rng, FuzzStats } from '../live-fuzzer.js';
import { HostileControl } from './hostile-control.js';

/** What the hostile flows aim at: the real session and the ids of its members (from /status). */
export interface HostileTargets {
  session: string;
  /** Ids of real members (seeder, peers): hello under them, forge reports against them. */
  ids: string[];
}

type Flow = (c: HostileControl, rng: Rng, t: HostileTargets, n: number) => Promise<number>;

const ROLES = ['seeder', 'peer', 'observer', 'operator'] as const;

/** Hello under an existing id (any role), then whatever a hijacker would send. */
const takeOver: Flow = async (c, rng, t) => {
  await c.hello({ role: rng.pick(ROLES), id: rng.pick(t.ids), name: 'hijack', session: t.session }, 2000);
  c.send({ type: 'serve', host: '127.0.8.200', port: 9, capacity: 1024 });
  c.send({ type: 'want', have: 0 });
  return 3;
};

/** Forged failed/done reports against real servers, from a peer with no transfer. */
const forgeReports: Flow = async (c, rng, t, n) => {
  const session = rng.int(2) === 0 ? t.session : `fuzz-ghost-${n}`;
  await c.hello({ role: 'peer', id: `forger-${n}`, session }, 2000);
  const server = rng.pick(t.ids);
  const badSlices = Array.from({ length: 1 + rng.int(8) }, () => rng.int(64));
  c.send({ type: 'failed', server, code: 'ERR_SLICE_DIGEST_MISMATCH', reason: 'fuzz', badSlices });
  c.send({ type: 'done', server: rng.int(2) === 0 ? server : 'reused', bytes: 1, ms: 1, badSlices: rng.int(5) });
  return 3;
};

/** `serve` from a peer that holds nothing. */
const serveEarly: Flow = async (c, rng, t, n) => {
  await c.hello({ role: 'peer', id: `early-${n}`, session: t.session }, 2000);
  c.send({ type: 'serve', host: '127.0.8.201', port: 1 + rng.int(65535), capacity: 1 + rng.int(1024) });
  return 2;
};

/** `want` under a session name nobody opened. */
const newSession: Flow = async (c, _rng, _t, n) => {
  await c.hello({ role: 'peer', id: `namer-${n}`, session: `fuzz-name-${n}` }, 2000);
  c.send({ type: 'want', have: 0 });
  return 2;
};

const FLOWS: readonly Flow[] = [takeOver, forgeReports, serveEarly, newSession];

/**
 * Run the hostile flows of issue 16 (hello under existing ids, forged failed/done, serve before
 * holding, many session names) at a coordinator until `total` messages are sent. Never throws.
 */
export async function fuzzHostile(url: string, rng: Rng, t: HostileTargets, total: number): Promise<FuzzStats> {
  const stats: FuzzStats = { connections: 0, messages: 0 };
  await Promise.all(
    Array.from({ length: 8 }, async (_, lane) => {
      const local = `127.0.8.${120 + lane}`;
      for (let guard = 0; stats.messages < total && guard < total; guard++) {
        const n = stats.connections++;
        const c = await HostileControl.connect(url, local, 3000).catch(() => null);
        if (!c) continue;
        try {
          const sent = await rng.pick(FLOWS)(c, rng, t, n);
          stats.messages += sent; // not `+= await`: that would read the total before the await
          await c.sync(2000);
        } catch {
          // a refused or closed connection is an answer too
        } finally {
          c.close();
        }
      }
    }),
  );
  return stats;
}
