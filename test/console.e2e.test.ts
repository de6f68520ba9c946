import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CASCADE_BIN, exitWithin, spawnRole, startCoordinator, writeImage, type RoleProcess } from '@cascade/cli';
import { runCascade, tempDir } from './helpers.js';

const MiB = 1024 * 1024;
const PEERS = 5;
const TMUX = `cascade-test-${process.pid}`;

function tmux(...args: string[]): { code: number; out: string } {
  const r = spawnSync('tmux', ['-L', TMUX, ...args], { encoding: 'utf8', timeout: 10_000 });
  return { code: r.status ?? 1, out: r.stdout ?? '' };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A console screen with someone in both queues. */
const bothQueues = (s: string): boolean =>
  /SERVER QUEUE [1-9]/.test(s) && /CLIENT QUEUE [1-9]/.test(s) && /#1 +pc-\d/.test(s);

/**
 * A rate-capped loopback cascade slow enough to watch: seeder and peers serve one client each
 * at 2 MB/s, a 12 MiB image, the session starts when 3 peers wait (or as `gate` says) and ends
 * at 5 imaged.
 */
async function slowCascade(
  dir: string,
  session: string,
  net: number,
  gate = ['--start-count', '3'],
): Promise<{ url: string; roles: RoleProcess[] }> {
  const image = join(dir, 'img.bin');
  await writeImage(image, { size: 12 * MiB, seed: 'console' });
  const coordinator = await startCoordinator(dir, `127.0.${net}.1`);
  const seeder = spawnRole(
    'seeder',
    [
      ...['seed', image, '--coordinator', coordinator.url, '--session', session, '--listen', `127.0.${net}.2:0`],
      ...['--slice', '1MiB', '--capacity', '1', '--rate', '2MB/s', ...gate, '--end-count', String(PEERS)],
    ],
    dir,
  );
  const peers = Array.from({ length: PEERS }, (_, i) =>
    spawnRole(
      `peer-${i + 1}`,
      [
        ...['peer', '--coordinator', coordinator.url, '--session', session, '--target', join(dir, `t${i + 1}.img`)],
        ...['--listen', `127.0.${net}.${10 + i}:0`, '--capacity', '1', '--rate', '2MB/s', '--name', `pc-${i + 1}`],
      ],
      dir,
    ),
  );
  return { url: coordinator.url, roles: [coordinator, seeder, ...peers] };
}

async function stopAll(roles: RoleProcess[]): Promise<void> {
  for (const r of roles) r.proc.kill('SIGTERM');
  await Promise.all(roles.map((r) => exitWithin(r, 5000)));
}

describe('cascade status --watch in a real terminal (tmux)', () => {
  test('shows both queues, progress bars and the imaged count, and they change', async (t) => {
    if (spawnSync('tmux', ['-V']).status !== 0) {
      t.skip('tmux is not installed');
      return;
    }
    const dir = await tempDir('console');
    // Gated by hand: both queues stay filled until the console has shown them, however slowly
    // the processes start on a loaded machine; then `cascade start` opens the session.
    const { url, roles } = await slowCascade(dir, 'lab', 31, ['--start', 'manual']);
    let socket = '';
    after(async () => {
      tmux('kill-server');
      if (socket) await rm(socket, { force: true });
    });
    after(() => stopAll(roles));
    const started = tmux(
      ...['new-session', '-d', '-x', '100', '-y', '30'],
      `${process.execPath} ${CASCADE_BIN} status --watch --coordinator ${url} --session lab`,
    );
    assert.equal(started.code, 0, 'tmux new-session failed');
    socket = tmux('display-message', '-p', '#{socket_path}').out.trim();

    const screens: string[] = [];
    const deadline = Date.now() + 120_000;
    let sawTree = false;
    let opened = false;
    while (Date.now() < deadline) {
      await sleep(500);
      const screen = tmux('capture-pane', '-p').out;
      screens.push(screen);
      if (!opened && bothQueues(screen)) {
        opened = true;
        const start = await runCascade(['start', 'lab', '--coordinator', url]);
        assert.equal(start.code, 0, start.stderr);
      }
      if (/imaged 5 of 5/.test(screen) || /ENDED/.test(screen)) break;
    }
    tmux('send-keys', 't');
    for (let i = 0; i < 20 && !sawTree; i++) {
      await sleep(300);
      sawTree = /SERVED BY \(tree, 5 imaged\)/.test(tmux('capture-pane', '-p').out);
    }
    const final = tmux('capture-pane', '-p').out;
    if (process.env.CASCADE_CONSOLE_CAPTURE)
      await writeFile(process.env.CASCADE_CONSOLE_CAPTURE, screens.join('\n----\n'));

    const all = screens.join('\n');
    assert.ok(!all.includes('\u001b'), 'captured text holds escapes');
    for (const s of screens) assert.ok(s.trimEnd().split('\n').length <= 30, 'screen taller than the window');
    // both queues, with someone in each
    assert.ok(opened, `never saw both queues filled:\n${screens.at(-1)}`);
    // a transfer with a progress bar, rate and ETA
    const barRow = /→ pc-\d +\[█*░+\] +\d+% +[\d.]+ MB\/s +ETA /;
    assert.ok(
      screens.some((s) => barRow.test(s)),
      `never saw a progress bar:\n${screens.at(-1)}`,
    );
    // they change: the imaged count climbs, the client queue drains, the bars move
    const imaged = new Set(screens.map((s) => /imaged (\d) of 5/.exec(s)?.[1]).filter(Boolean));
    assert.ok(imaged.size >= 3, `imaged count barely changed: ${[...imaged].join(',')}`);
    assert.ok(imaged.has('5'), 'never saw 5 of 5 imaged');
    const queues = new Set(screens.map((s) => /CLIENT QUEUE (\d+)/.exec(s)?.[1]));
    assert.ok(queues.size >= 2, 'client queue never changed');
    const bars = new Set(screens.flatMap((s) => s.match(/\[█*░*\] +\d+%/g) ?? []));
    assert.ok(bars.size >= 3, 'progress bars never moved');
    assert.ok(sawTree, `t did not show the tree:\n${final}`);

    tmux('send-keys', 'q');
    let gone = false;
    for (let i = 0; i < 20 && !gone; i++) {
      await sleep(250);
      gone = tmux('has-session').code !== 0;
    }
    assert.ok(gone, 'q did not end the console');
  });
});

describe('cascade status --watch without a terminal', () => {
  test('prints plain snapshots with no cursor escapes', async () => {
    const dir = await tempDir('console-plain');
    const { url, roles } = await slowCascade(dir, 'plain', 32);
    after(() => stopAll(roles));
    const p = spawn(process.execPath, [CASCADE_BIN, 'status', '--watch', '--coordinator', url], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // Three snapshots, about a second apart: allow for a slow start on a loaded machine.
    const deadline = Date.now() + 30_000;
    while ((out.match(/SESSION plain/g) ?? []).length < 3 && Date.now() < deadline) await sleep(250);
    p.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
    assert.equal(code, 0);
    assert.ok((out.match(/SESSION plain/g) ?? []).length >= 3, out);
    assert.ok(!out.includes('\u001b'), 'escape sequence in non-TTY output');
  });
});
