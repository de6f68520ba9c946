/**
 * Issue 29, findings 3, 5 and 7: what one address can make the coordinator hold before (or
 * without) a useful hello. Real coordinator processes on loopback; the attacker is a bare ws
 * client (test/hostile/) or raw TCP.
 *
 * Behaviour these tests demand:
 * - Before hello a connection may send one hello-sized message (16 KiB): a larger frame, or
 *   fragments adding up to more, close it as ws's receiver reads their headers, before any byte
 *   is decoded. Every message's raw bytes are walked before msgpack-lite decodes them: more than
 *   4096 maps and arrays, 2 Mi values or nesting deeper than 32 is ERR_MESSAGE_MALFORMED.
 * - All connections of one address together hold at most 64 MiB in unfinished messages; the
 *   connection that goes over is dropped.
 * - The HTTP endpoints count toward --max-connections-per-address (plus a few sockets that are
 *   only told no), and a request must send its headers within 10 s.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { HostileControl } from './hostile/hostile-control.js';
import { HostileLab, MiB } from './hostile/hostile-lab.js';

async function rssKiB(pid: number): Promise<number> {
  const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

/** Sample `fn` every `ms` until the returned stop() is awaited; resolves with the samples' maximum. */
function sampling(fn: () => Promise<number>, ms = 50): () => Promise<number> {
  let on = true;
  let worst = 0;
  const loop = (async () => {
    const until = Date.now() + 120_000;
    while (on && Date.now() < until) {
      worst = Math.max(worst, await fn().catch(() => Infinity));
      await new Promise((r) => setTimeout(r, ms));
    }
  })();
  return async () => {
    on = false;
    await loop;
    return worst;
  };
}

/**
 * Time /healthz from a separate process (this one is busy masking the attack's frames): it
 * samples every 50 ms until its stdin closes, then prints the slowest answer in ms.
 */
async function probeHealthz(url: string): Promise<() => Promise<number>> {
  const script = `
    let on = true, worst = 0;
    process.stdin.on('end', () => (on = false)).resume();
    const until = Date.now() + 120000;
    await (await fetch(${JSON.stringify(url)})).text();
    console.log('ready');
    while (on && Date.now() < until) {
      const t0 = Date.now();
      try { await (await fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(10000) })).text(); }
      catch { worst = Infinity; }
      worst = Math.max(worst, Date.now() - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
    console.log(String(worst));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let ready: () => void = () => undefined;
  const isReady = new Promise<void>((r) => (ready = r));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready')) ready();
  });
  const exited = new Promise((r) => child.once('exit', r));
  await Promise.race([isReady, exited]);
  return async () => {
    child.stdin.end();
    await exited;
    return Number(out.trim().split('\n').at(-1));
  };
}

/** 16 MiB of msgpack: one array32 of ~16 million empty maps (finding 3's frame). */
function emptyMaps(bytes = 16 * MiB - 16): Buffer {
  const b = Buffer.alloc(bytes, 0x80);
  b[0] = 0xdd;
  b.writeUInt32BE(bytes - 5, 1);
  return b;
}

function sendFrame(ws: WebSocket, data: Buffer, fin = true): Promise<boolean> {
  return new Promise((resolve) => {
    if (ws.readyState !== WebSocket.OPEN) return resolve(false);
    ws.send(data, { binary: true, fin }, (err) => resolve(!err));
  });
}

/** A coordinator whose heap is 1 GiB, as on a 4 GiB host (NODE_OPTIONS reaches the spawned process). */
async function smallHeapLab(prefix: string, host: string, args: string[] = []): Promise<HostileLab> {
  const saved = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${saved ?? ''} --max-old-space-size=1024`.trim();
  try {
    return await HostileLab.create(prefix, { coordinatorHost: host, coordinatorArgs: args });
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  }
}

describe('hostile connections (issue 29: findings 3, 5, 7)', { timeout: 240_000 }, () => {
  test('#3 a 16 MiB frame of empty maps, before and after hello: the coordinator (1 GiB heap) lives and /healthz stays responsive', async () => {
    const lab = await smallHeapLab('hostile-prehello', '127.0.29.1');
    const http = lab.url.replace('ws:', 'http:');
    const healthz = await probeHealthz(`${http}/healthz`);
    const frame = emptyMaps();
    const before = await HostileControl.connect(lab.url, '127.0.29.100');
    await sendFrame(before.ws, frame);
    await before.next(() => false, 10_000).catch(() => undefined); // closed, or 10 s passed
    const after = await HostileControl.connect(lab.url, '127.0.29.101');
    assert.equal((await after.hello({ role: 'observer', id: 'maps-after-hello' }))?.type, 'welcome');
    const from = after.received.length;
    await sendFrame(after.ws, frame);
    const answer = await after.next((m) => m.type === 'error', 20_000, from).catch((e: Error) => e.message);
    const worstHealthz = await healthz();
    const alive = lab.coordinator.proc.exitCode === null && lab.coordinator.proc.signalCode === null;
    process.stdout.write(
      `# empty maps: pre-hello close ${before.closeCode}, after hello ${JSON.stringify(answer)}, ` +
        `worst /healthz ${worstHealthz} ms, coordinator ${alive ? 'alive' : `exited ${lab.coordinator.proc.exitCode}`}\n`,
    );
    assert.ok(alive, `the coordinator died; see ${lab.coordinator.logFile}`);
    assert.equal(before.closeCode, 1009, 'the pre-hello frame was not refused by size');
    assert.equal(typeof answer === 'object' ? answer.code : answer, 'ERR_MESSAGE_MALFORMED');
    // Unloaded the worst answer is under 100 ms (39–96 ms measured); the bound leaves room for a
    // loaded CI machine and still fails the old decoder (2.1–2.35 s on an idle machine, or a death).
    assert.ok(worstHealthz < 1000, `/healthz took ${worstHealthz} ms under attack`);
    before.close();
    after.close();
  });

  test('#5 60 connections from one address send 16 MiB messages in fragments that never end: RSS < 200 MiB', async () => {
    const lab = await HostileLab.create('hostile-fragments', { coordinatorHost: '127.0.29.2' });
    const pid = lab.coordinator.proc.pid!;
    const rssBefore = await rssKiB(pid);
    const peak = sampling(() => rssKiB(pid), 100);
    const chunk = Buffer.alloc(MiB, 0x61);
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const c = await HostileControl.connect(lab.url, '127.0.29.150').catch(() => null);
        if (!c) return 'refused';
        // half before hello, half after (a hello costs nothing without a token)
        if (i % 2 === 1 && (await c.hello({ role: 'observer', id: `frag-${i}` }))?.type !== 'welcome')
          return 'no-welcome';
        let sent = 0;
        for (let k = 0; k < 16 && (await sendFrame(c.ws, chunk, false)); k++) sent++;
        // answer pings for a while (ws does that itself), then see whether it is still held
        await c.next(() => false, 2000).catch(() => undefined);
        return c.closed ? `closed-after-${sent}` : `held-${sent}`;
      }),
    );
    const worst = await peak();
    const rssAfter = await rssKiB(pid);
    const tally: Record<string, number> = {};
    for (const o of outcomes) tally[o] = (tally[o] ?? 0) + 1;
    process.stdout.write(`# fragments: ${JSON.stringify(tally)}; RSS ${rssBefore} → peak ${worst} → ${rssAfter} KiB\n`);
    assert.ok(worst < 200 * 1024, `coordinator RSS reached ${Math.round(worst / 1024)} MiB`);
    const [c, w] = [await HostileControl.connect(lab.url, '127.0.29.151'), null];
    assert.equal((await c.hello({ role: 'observer', id: 'honest-after' }))?.type, 'welcome', String(w));
    c.close();
  });

  test('#7 half-open HTTP requests from one address are capped and time out', async () => {
    const cap = 50;
    const lab = await HostileLab.create('hostile-half-open', {
      coordinatorHost: '127.0.29.3',
      coordinatorArgs: ['--max-connections-per-address', String(cap)],
    });
    const pid = lab.coordinator.proc.pid!;
    const fds = async (): Promise<number> => (await readdir(`/proc/${pid}/fd`)).length;
    const fdsBefore = await fds();
    const { port } = new URL(lab.url);
    const sockets: Socket[] = [];
    const opened = await Promise.all(
      Array.from({ length: 1000 }, () => {
        return new Promise<boolean>((resolve) => {
          const s = connect({ host: '127.0.29.3', port: Number(port), localAddress: '127.0.29.200' }, () => {
            s.write('GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: '); // headers never end
            resolve(true);
          });
          s.on('error', () => resolve(false));
          sockets.push(s);
        });
      }),
    );
    // wait until the coordinator has seen every one (accepted, or refused and closed)
    const settleBy = Date.now() + 10_000;
    let held = await fds();
    for (let last = -1; held !== last && Date.now() < settleBy;) {
      last = held;
      await new Promise((r) => setTimeout(r, 500));
      held = await fds();
    }
    const otherAddress = await fetch(`${lab.url.replace('ws:', 'http:')}/healthz`);
    const timeoutBy = Date.now() + 30_000;
    let later = held;
    while (later > fdsBefore + 5 && Date.now() < timeoutBy) {
      await new Promise((r) => setTimeout(r, 500));
      later = await fds();
    }
    for (const s of sockets) s.destroy();
    process.stdout.write(
      `# half-open: ${opened.filter(Boolean).length} of 1000 connected; coordinator fds ${fdsBefore} → ${held} → ${later}\n`,
    );
    assert.equal(otherAddress.status, 200, 'another address could not reach /healthz');
    assert.ok(held - fdsBefore <= cap + 16, `the coordinator held ${held - fdsBefore} sockets from one address`);
    assert.ok(later <= fdsBefore + 5, `half-open requests still held after 30 s (${later - fdsBefore})`);
  });
});
