import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exitWithin, spawnRole, startCoordinator, writeImage, type RoleProcess } from '@cascade/cli';
import type { SessionStatus, StatusSnapshot } from '@cascade/coordinator';
import { runCascade, tempDir, type CascadeRun } from './helpers.js';

const cascade = (args: string[]): Promise<CascadeRun> => runCascade(args);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const dir = await tempDir('gating');
let coordinator: RoleProcess & { url: string };
let image: string;
let net = 0;

before(async () => {
  image = join(dir, 'img.bin');
  await writeImage(image, { size: 2 * 1024 * 1024 + 5, seed: 'gating' });
  coordinator = await startCoordinator(dir, '127.0.34.1');
});
after(async () => {
  coordinator.proc.kill('SIGTERM');
  await exitWithin(coordinator, 5000);
});

async function session(name: string): Promise<{ s: SessionStatus | undefined; now: number }> {
  const http = coordinator.url.replace(/^ws/, 'http');
  const snap = (await (await fetch(`${http}/status?session=${name}`)).json()) as StatusSnapshot;
  return { s: snap.sessions[0], now: snap.now };
}

/** Poll the session until `done` holds (bounded: 30 s); every snapshot is checked by `each`. */
async function pollUntil(
  name: string,
  done: (s: SessionStatus) => boolean,
  each: (s: SessionStatus, now: number) => void = () => undefined,
): Promise<SessionStatus> {
  for (let i = 0; i < 150; i++) {
    const { s, now } = await session(name);
    if (s && s.state !== 'unopened') {
      each(s, now);
      if (done(s)) return s;
    }
    await sleep(200);
  }
  throw new Error(`session ${name}: condition not reached in 30 s`);
}

/** While the gate is shut, nobody may be assigned and nothing imaged. */
function shut(s: SessionStatus): void {
  assert.equal(s.state, 'waiting');
  assert.equal(s.transfers.length, 0, 'a client was assigned before the gate opened');
  assert.equal(s.imaged, 0);
  assert.equal(s.startedAt, null);
}

function seed(name: string, gating: string[], peers: number): RoleProcess {
  net++;
  return spawnRole(
    `seeder-${name}`,
    [
      ...['seed', image, '--coordinator', coordinator.url, '--session', name, '--slice', '1MiB'],
      ...['--listen', `127.0.34.${net * 10}:0`, '--end-count', String(peers), ...gating],
    ],
    dir,
  );
}

function peer(name: string, i: number): RoleProcess {
  return spawnRole(
    `peer-${name}-${i}`,
    [
      ...['peer', '--coordinator', coordinator.url, '--session', name, '--target', join(dir, `${name}-${i}.img`)],
      ...['--listen', `127.0.34.${net * 10 + i}:0`, '--name', `${name}-${i}`],
    ],
    dir,
  );
}

/** Every role exits 0 (peers imaged, seeder at the session's end). */
async function allExitZero(roles: RoleProcess[]): Promise<void> {
  for (const r of roles) assert.equal(await exitWithin(r, 60_000), 0, `${r.name} failed; see ${r.logFile}`);
}

/** Why the coordinator says the session started (from its JSON log). */
async function startReason(name: string): Promise<string | undefined> {
  const lines = (await readFile(coordinator.logFile, 'utf8')).split('\n').filter((l) => l.startsWith('{'));
  const started = lines
    .map((l) => JSON.parse(l) as { msg?: string; session?: string; reason?: string })
    .find((l) => l.msg === 'session started' && l.session === name);
  return started?.reason;
}

describe('session gating through the CLI (real coordinator, seeder and peers)', () => {
  test('--start-count 2: one waiting client is not served; the second opens the gate', async () => {
    const seeder = seed('count', ['--start-count', '2'], 2);
    const first = peer('count', 1);
    await pollUntil('count', (s) => s.waiting.length === 1, shut);
    for (let i = 0; i < 4; i++) {
      shut((await session('count')).s!);
      await sleep(250);
    }
    const second = peer('count', 2);
    await allExitZero([first, second, seeder]);
    const s = (await session('count')).s!;
    assert.equal(s.imaged, 2);
    assert.equal(await startReason('count'), 'count');
  });

  test('--start-after 8s: clients wait until the time, then are served', async () => {
    const seeder = seed('timed', ['--start-after', '8s'], 1);
    const p = peer('timed', 1);
    let shutSeen = 0;
    const started = await pollUntil(
      'timed',
      (s) => s.state !== 'waiting',
      (s, now) => {
        if (s.openedAt !== null && now < s.openedAt + 8000) {
          shut(s);
          if (s.waiting.length === 1) shutSeen++;
        }
      },
    );
    assert.ok(shutSeen > 0, 'never saw the client waiting behind the timer');
    assert.ok(started.startedAt! >= started.openedAt! + 8000, 'started before its time');
    await allExitZero([p, seeder]);
    assert.equal(await startReason('timed'), 'timer');
  });

  test('--start manual: clients wait until an operator runs cascade start', async () => {
    const seeder = seed('manual', ['--start', 'manual'], 2);
    const peers = [peer('manual', 1), peer('manual', 2)];
    await pollUntil('manual', (s) => s.waiting.length === 2, shut);
    for (let i = 0; i < 4; i++) {
      shut((await session('manual')).s!);
      await sleep(250);
    }
    const r = await cascade(['start', 'manual', '--coordinator', coordinator.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /session manual: started/);
    await allExitZero([...peers, seeder]);
    assert.equal(await startReason('manual'), 'operator');
  });

  test('cascade set --start-count while waiting opens the gate for the clients already there', async () => {
    const seeder = seed('changed', ['--start-count', '5'], 2);
    const peers = [peer('changed', 1), peer('changed', 2)];
    await pollUntil('changed', (s) => s.waiting.length === 2, shut);
    shut((await session('changed')).s!);
    const r = await cascade(['set', 'changed', '--start-count', '2', '--coordinator', coordinator.url]);
    assert.equal(r.code, 0, r.stderr);
    await allExitZero([...peers, seeder]);
    const s = (await session('changed')).s!;
    assert.equal(s.options.startCount, 2);
    assert.equal(await startReason('changed'), 'count');
  });

  test('operator commands on a session that does not exist are refused with ERR_UNKNOWN_SESSION', async () => {
    for (const args of [
      ['start', 'nope'],
      ['end', 'nope'],
      ['set', 'nope', '--start-count', '1'],
    ]) {
      const r = await cascade([...args, '--coordinator', coordinator.url]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /no session named "nope".*ERR_UNKNOWN_SESSION/);
    }
  });
});
