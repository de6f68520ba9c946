/**
 * The load of the coordinator-scale benchmark, run as its own process so its CPU is not the
 * coordinator's: one light seeder opens a session, a few light servers offer a large capacity,
 * then PEERS light clients connect (paced, from many source addresses) and send `want` at
 * WANT_RATE per second; the time from each `want` to its `assign` is the pairing latency.
 *
 *   node --import tsx bench/lib/light-driver.ts URL PEERS WANT_RATE
 *
 * Prints JSON lines: {"event":"connected",…} once every client is welcomed, then {"event":"done",…}.
 */
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildManifest } from '@cascade/common';
import { LightClient, lightAddress } from './light-client.js';

const SESSION = 'bench3';
const CONNECT_CONCURRENCY = 128;
const SERVER_CAPACITY = 1000;
const ASSIGN_TIMEOUT_MS = 120_000;

async function smallManifest(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'cascade-bench-light-'));
  try {
    const file = join(dir, 'tiny.img');
    await writeFile(file, Buffer.alloc(4 * 1024 * 1024, 7));
    return { ...(await buildManifest(file)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Connect `n` clients with at most CONNECT_CONCURRENCY handshakes in flight. */
async function connectAll(url: string, n: number): Promise<LightClient[]> {
  const clients: LightClient[] = new Array<LightClient>(n);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      clients[i] = await LightClient.connect(url, lightAddress(i), {
        role: 'peer',
        name: `light-${i}`,
        session: SESSION,
      });
      if ((i + 1) % 2000 === 0) process.stderr.write(`[bench] bench 3: ${i + 1}/${n} connected\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, n) }, worker));
  return clients;
}

/** Send every client's `want` at `rate` per second; resolve with each want→assign latency (ms). */
function pairAll(clients: LightClient[], rate: number): Promise<{ latencies: number[]; spanMs: number }> {
  const sentAt = new Float64Array(clients.length);
  const latencies: number[] = [];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    clients.forEach((c, i) => {
      c.onMessage = (m) => {
        if (m.type !== 'assign') return;
        latencies.push(performance.now() - sentAt[i]!);
        if (latencies.length === clients.length) resolve({ latencies, spanMs: performance.now() - t0 });
      };
    });
    const perTick = Math.max(1, Math.round(rate / 100));
    let sent = 0;
    const tick = setInterval(() => {
      for (let k = 0; k < perTick && sent < clients.length; k++, sent++) {
        sentAt[sent] = performance.now();
        clients[sent]!.send({ type: 'want', have: 0 });
      }
      if (sent >= clients.length) clearInterval(tick);
    }, 10);
    setTimeout(() => {
      clearInterval(tick);
      reject(new Error(`only ${latencies.length}/${clients.length} clients were assigned in ${ASSIGN_TIMEOUT_MS} ms`));
    }, ASSIGN_TIMEOUT_MS).unref();
  });
}

async function main(): Promise<void> {
  const [url, peersArg, rateArg] = process.argv.slice(2);
  const peers = Number(peersArg);
  const rate = Number(rateArg);
  if (!url || !(peers > 0) || !(rate > 0)) throw new Error('usage: light-driver.ts URL PEERS WANT_RATE');
  const open: LightClient[] = [];
  try {
    const seeder = await LightClient.connect(url, '127.0.9.1', {
      role: 'seeder',
      name: 'light-seeder',
      session: SESSION,
    });
    open.push(seeder);
    const manifest = await smallManifest();
    const ack = seeder.next('ack');
    seeder.send({ type: 'open-session', manifest, options: {} });
    await ack;
    const serverCount = Math.ceil(peers / SERVER_CAPACITY);
    for (let s = 0; s < serverCount; s++) {
      // Further sources of the same image: what the coordinator lets serve without a transfer.
      const srv = await LightClient.connect(url, '127.0.9.2', {
        role: 'seeder',
        name: `light-server-${s}`,
        session: SESSION,
      });
      open.push(srv);
      const joined = srv.next('ack');
      srv.send({ type: 'open-session', manifest, options: {} });
      await joined;
      const serving = srv.next('serving');
      srv.send({ type: 'serve', host: '127.0.9.2', port: 9, capacity: SERVER_CAPACITY });
      await serving;
    }
    const t0 = performance.now();
    const clients = await connectAll(url, peers);
    open.push(...clients);
    const connectMs = performance.now() - t0;
    process.stdout.write(`${JSON.stringify({ event: 'connected', peers, servers: serverCount, connectMs })}\n`);
    await new Promise((r) => setTimeout(r, 1000)); // let the coordinator settle before the wants
    const { latencies, spanMs } = await pairAll(clients, rate);
    process.stdout.write(`${JSON.stringify({ event: 'done', peers, connectMs, spanMs, latencies })}\n`);
  } finally {
    for (const c of open) c.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`light-driver: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
