import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { exitWithin, spawnRole, startCoordinator, writeImage, type RoleProcess } from '@cascade/cli';
import { sameBytes } from './boot-helpers.js';
import { peerArgs, runCascade, tempDir } from './helpers.js';
import { httpStatus, logLines, sleep, waitFor, type LabSnapshot, keep, killAfter } from './lab-helpers.js';

/**
 * Issue #13, problems 5 and 6 on loopback (127.0.64.x): no silent waiting, no deadlock without a source.
 *
 * Behaviour assumed:
 *  - (5) a peer that joins a session no seeder has opened is kept by the coordinator: status --json
 *    has a session entry of that name with `state: 'unopened'` whose roster lists the peer with
 *    `outcome: 'waiting'`; `cascade status` prints the session name and the peer. Every retry toward
 *    the coordinator (refused, timed out, rejected) is a log line at info or above with a string
 *    `reason` (e.g. the ECONNREFUSED message) — at least one per attempt.
 *  - (6) when a session has no complete source (its seeder died, no peer imaged yet), the
 *    coordinator logs at warn `{code: 'ERR_NO_SOURCE', session}` 'no complete source', adds a
 *    status warning whose event or detail says `no complete source`, and /metrics has
 *    `cascade_session_complete_sources{session="NAME"} 0`. Relays keep what they verified; a seeder
 *    started again for the same image and session adds a source and everyone completes.
 */
const dir = await tempDir('lab-waiting');
let coordinator: RoleProcess & { url: string };
const roles: RoleProcess[] = [];

before(async () => {
  coordinator = await startCoordinator(dir, '127.0.64.1');
});
killAfter(() => [...roles, coordinator]);

const role = (name: string, args: string[]): RoleProcess => keep(roles, spawnRole(name, args, dir));

describe('problem 5: nobody waits silently', () => {
  test('a peer waiting for a session nobody opened is visible in cascade status', async () => {
    const p = role('w1', peerArgs(coordinator.url, 'nosuch', join(dir, 'w1.img'), '127.0.64.10:0', ['--name', 'w1']));
    const s = await waitFor(
      'nosuch listed',
      async () => {
        const snap: LabSnapshot = await httpStatus(coordinator.url);
        return snap.sessions.find((x) => x.name === 'nosuch');
      },
      10_000,
    );
    assert.equal(s.state, 'unopened');
    assert.deepEqual(
      s.roster?.map((r) => [r.name, r.outcome]),
      [['w1', 'waiting']],
    );
    const text = await runCascade(['status', '--coordinator', coordinator.url]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /nosuch/);
    assert.match(text.stdout, /\bw1\b/);
    assert.equal(p.proc.exitCode, null, 'the peer gave up waiting');
  });

  test('every retry toward an unreachable coordinator is logged at info with its reason', async () => {
    const url = 'ws://127.0.64.2:9'; // nothing listens there
    const p = role('nocoord', peerArgs(url, 'x', join(dir, 'nocoord.img'), '127.0.64.11:0', ['--log-level', 'info']));
    const retries = await waitFor(
      'two logged retries',
      async () => {
        const lines = (await logLines(p.logFile)).filter(
          (l) => (l.level as number) >= 30 && typeof l.reason === 'string' && /ECONNREFUSED/.test(l.reason),
        );
        return lines.length >= 2 ? lines : undefined;
      },
      15_000,
    );
    assert.ok(
      retries.every((l) => typeof l.msg === 'string' && /coordinator/.test(l.msg)),
      JSON.stringify(retries),
    );
  });
});

describe('problem 6: a relay session whose seeder stops says so, and resumes when it returns', () => {
  test('warning "no complete source" in log, status and metrics; a restarted seeder completes everyone', async () => {
    const image = join(dir, 'relay.img');
    await writeImage(image, { size: 8 * 1024 * 1024 + 5, seed: 'relay-nosrc' });
    const expected = await readFile(image);
    const seedArgs = [
      ...['seed', image, '--coordinator', coordinator.url, '--session', 'relay', '--relay', '--slice', '256KiB'],
      ...['--listen', '127.0.64.20:0', '--rate', '2MB/s', '--end-count', '4', '--name', 'src'],
    ];
    const first = role('seeder-1', seedArgs);
    const peers = [1, 2, 3, 4].map((i) =>
      role(
        `r${i}`,
        peerArgs(coordinator.url, 'relay', join(dir, `r${i}.img`), `127.0.64.${20 + i}:0`, ['--name', `r${i}`]),
      ),
    );
    await waitFor('1 MiB transferred', async () => {
      const s = (await httpStatus(coordinator.url, 'relay')).sessions[0] as unknown as {
        transfers?: Array<{ bytes: number }>;
      };
      return s?.transfers?.some((t) => t.bytes >= 1024 * 1024) ? true : undefined;
    });
    first.proc.kill('SIGKILL');
    await exitWithin(first, 5000);
    const http = coordinator.url.replace(/^ws/, 'http');
    const seen = { log: false, status: false, metrics: false };
    for (let i = 0; i < 75 && !(seen.log && seen.status && seen.metrics); i++) {
      const lines = await logLines(coordinator.logFile);
      seen.log ||= lines.some((l) => l.level === 40 && l.code === 'ERR_NO_SOURCE' && l.session === 'relay');
      const snap = await httpStatus(coordinator.url);
      seen.status ||= snap.warnings.some((w) => /no complete source/.test(`${w.event} ${w.detail}`));
      const metrics = await (await fetch(`${http}/metrics`)).text();
      seen.metrics ||= /^cascade_session_complete_sources\{session="relay"\} 0$/m.test(metrics);
      await sleep(200);
    }
    assert.ok(
      peers.every((p) => p.proc.exitCode === null),
      'a peer gave up while the source was away',
    );
    role('seeder-2', seedArgs);
    const codes = await Promise.all(peers.map((p) => exitWithin(p, 90_000)));
    for (const [i, p] of peers.entries()) {
      assert.equal(codes[i], 0, `${p.name}: exit ${codes[i]}; see ${p.logFile}`);
      assert.ok(await sameBytes(join(dir, `r${i + 1}.img`), expected), `${p.name}: target differs`);
    }
    assert.deepEqual(seen, { log: true, status: true, metrics: true }, 'where "no complete source" was said');
  });
});
