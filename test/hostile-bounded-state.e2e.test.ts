/**
 * Issue 16, findings 9 and 10: bounded state and the smaller findings. Real coordinator, seeder
 * and peers on loopback; the attacker is a bare ws/msgpack client (test/hostile/).
 *
 * Behaviour these tests demand (design choices the issue leaves open, made here):
 * - A pending session (named by a `want` before any seeder opened it) expires 10 minutes after it
 *   last had a member (scheduler unit tests cover the clock); at most 64 pending sessions may be
 *   created from one address and 1024 in total. A `want` beyond that is answered
 *   `error ERR_TOO_MANY_SESSIONS` (transient: a real peer retries).
 * - `/status` lists at most 100 sessions (most relevant first: running, waiting, then pending)
 *   and says how many it left out (`truncated.sessions`); `/metrics` labels per session only the
 *   listed sessions and counts the rest by state (`cascade_sessions{state}`); both stay small
 *   and fast; `/healthz` is never held up.
 * - `/metrics` follows the access rule of `/status`: with a token and no --public-status, 403.
 * - `cascade seed` on a FIFO (anything not a regular file or block device) fails at once with
 *   ERR_BAD_CONFIG, exit 2; `--listen` given twice fails with ERR_BAD_CONFIG, exit 2.
 * - A name with control or bidi characters (U+202E…) is refused at hello with ERR_MESSAGE_MALFORMED.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { helloAs, HostileControl } from './hostile/hostile-control.js';
import { HostileLab } from './hostile/hostile-lab.js';
import { runCascade } from './helpers.js';

async function rssKiB(pid: number): Promise<number> {
  const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

/** One `want` under a new session name from `local`; the coordinator's answer type/code. */
async function wantNewSession(url: string, name: string, local: string): Promise<string> {
  const c = await HostileControl.connect(url, local).catch(() => null);
  if (!c) return 'refused-connection';
  try {
    const w = await c.hello({ role: 'peer', id: `squat-${name}`, session: name });
    if (w?.type !== 'welcome') return `hello-${String(w?.code)}`;
    const from = c.received.length;
    c.send({ type: 'want', have: 0 });
    const a = await c.next((m) => m.type === 'queued' || m.type === 'error', 5000, from).catch(() => null);
    return a?.type === 'error' ? String(a.code) : String(a?.type);
  } finally {
    c.close();
  }
}

describe('hostile bounded state (issue 16: findings 9, 10)', { timeout: 240_000 }, () => {
  test('#9 thousands of session names: pending sessions capped per address and in total; /status and /metrics stay small and fast', async () => {
    const lab = await HostileLab.create('hostile-sessions', { coordinatorHost: '127.0.14.1' });
    lab.seeder(['--end-count', '2']);
    await lab.seederId();
    const http = lab.url.replace('ws:', 'http:');
    const rssBefore = await rssKiB(lab.coordinator.proc.pid!);
    const answers = new Map<string, Map<string, number>>();
    let worstHealthz = 0;
    let flooding = true;
    const probe = (async () => {
      while (flooding) {
        const t0 = Date.now();
        await fetch(`${http}/healthz`);
        worstHealthz = Math.max(worstHealthz, Date.now() - t0);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const lanes = Array.from({ length: 12 }, (_, lane) => `127.0.14.${100 + lane}`);
    await Promise.all(
      lanes.map(async (local) => {
        const tally = new Map<string, number>();
        answers.set(local, tally);
        for (let i = 0; i < 100; i++) {
          const a = await wantNewSession(lab.url, `junk-${local}-${i}`, local);
          tally.set(a, (tally.get(a) ?? 0) + 1);
        }
      }),
    );
    const peers = [1, 2].map((i) => lab.peer(i));
    const t0 = Date.now();
    const status = await (await fetch(`${http}/status`)).text();
    const statusMs = Date.now() - t0;
    const t1 = Date.now();
    const metrics = await (await fetch(`${http}/metrics`)).text();
    const metricsMs = Date.now() - t1;
    flooding = false;
    await probe;
    await lab.allExact(peers);
    const rssAfter = await rssKiB(lab.coordinator.proc.pid!);
    process.stdout.write(
      `# sessions flood: answers ${JSON.stringify([...answers.values()].map((m) => Object.fromEntries(m)))}; ` +
        `/status ${status.length} B in ${statusMs} ms, /metrics ${metrics.length} B in ${metricsMs} ms, ` +
        `worst /healthz ${worstHealthz} ms, RSS ${rssBefore} → ${rssAfter} KiB\n`,
    );
    for (const [local, tally] of answers) {
      assert.ok((tally.get('queued') ?? 0) <= 64, `${local} created ${tally.get('queued')} pending sessions`);
      assert.ok((tally.get('ERR_TOO_MANY_SESSIONS') ?? 0) >= 36, `${local} was not told ERR_TOO_MANY_SESSIONS`);
    }
    const snap = JSON.parse(status) as { sessions: unknown[]; truncated?: { sessions?: number } };
    assert.ok(snap.sessions.length <= 100, `/status lists ${snap.sessions.length} sessions`);
    assert.ok((snap.truncated?.sessions ?? 0) > 0, '/status does not say how many sessions it left out');
    assert.ok(status.length < 256 * 1024, `/status is ${status.length} bytes`);
    assert.ok(metrics.length < 256 * 1024, `/metrics is ${metrics.length} bytes`);
    assert.ok(worstHealthz < 1000, `/healthz took ${worstHealthz} ms`);
  });

  test('#10 /metrics follows the /status access rule with a token', async () => {
    const lab = await HostileLab.create('hostile-metrics', { coordinatorHost: '127.0.14.2', token: true });
    const http = lab.url.replace('ws:', 'http:');
    assert.equal((await fetch(`${http}/status`)).status, 403);
    const res = await fetch(`${http}/metrics`);
    assert.equal(res.status, 403, '/metrics answered without the token');
    assert.doesNotMatch(await res.text(), /cascade_session_state/);
  });

  test('#10 cascade seed on a FIFO fails at once with ERR_BAD_CONFIG (exit 2)', async () => {
    const lab = await HostileLab.create('hostile-fifo', { coordinatorHost: '127.0.14.3' });
    const fifo = join(lab.dir, 'image.fifo');
    execFileSync('mkfifo', [fifo]);
    const r = await runCascade(['seed', fifo, '--coordinator', lab.url, '--session', 'fifo'], { timeoutMs: 15_000 });
    assert.equal(r.code, 2, `exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, /ERR_BAD_CONFIG/);
    assert.match(r.stderr, /regular file or block device/);
  });

  test('#10 --listen given twice fails with one clear line, ERR_BAD_CONFIG, exit 2', async () => {
    const r = await runCascade(['coordinator', '--listen', '127.0.14.4:0', '--listen', '127.0.14.5:0'], {
      timeoutMs: 15_000,
    });
    assert.equal(r.code, 2, `exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, /ERR_BAD_CONFIG/);
    assert.doesNotMatch(r.stderr, /TypeError|\n\s+at /);
  });

  test('#10 a name with control or bidi characters is refused at hello with ERR_MESSAGE_MALFORMED', async () => {
    const lab = await HostileLab.create('hostile-names', { coordinatorHost: '127.0.14.6' });
    for (const name of ['evil\u202Egnp.exe', 'bell\u0007', 'esc\u001b[2J', 'nl\nforged log line', 'iso\u2066x']) {
      const [c, answer] = await helloAs(lab.url, { role: 'observer', id: `n-${name.length}`, name }, '127.0.14.200');
      assert.equal(answer?.code, 'ERR_MESSAGE_MALFORMED', `name ${JSON.stringify(name)} was accepted`);
      c.close();
    }
    const [ok, welcome] = await helloAs(lab.url, { role: 'observer', id: 'fine', name: 'lab-pc-07 (salle 2)' });
    assert.equal(welcome?.type, 'welcome', 'an ordinary name was refused');
    ok.close();
    assert.doesNotMatch(await readFile(lab.coordinator.logFile, 'utf8'), /\u202E/);
  });
});
