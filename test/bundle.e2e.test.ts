import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { writeImage } from '@cascade/cli';
import { exitOf, sameBytes, startProc, type Proc } from './boot-helpers.js';
import { tempDir } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '..');
const dir = await tempDir('bundle');

describe('the one-file bundle (what boot media carry)', () => {
  const bundle = join(dir, 'cascade.mjs');
  const procs: Proc[] = [];

  before(async () => {
    await promisify(execFile)(process.execPath, [join(ROOT, 'scripts/bundle.mjs'), '--outfile', bundle], {
      timeout: 120_000,
    });
  });
  after(async () => {
    for (const p of procs) await p.stop();
  });

  /** `node cascade.mjs ARGS`, run from the temp folder (no node_modules anywhere above it). */
  function role(name: string, args: string[]): Proc {
    const p = startProc(name, [process.execPath, bundle, ...args], dir, dir);
    procs.push(p);
    return p;
  }

  test('the bundle is one file, and no node_modules is reachable from its folder', async () => {
    assert.ok((await stat(bundle)).size > 100_000);
    for (let d = dir; d !== '/'; d = resolve(d, '..'))
      await assert.rejects(stat(join(d, 'node_modules')), `found ${join(d, 'node_modules')}`);
  });

  test('coordinator, seeder and two peers run from the bundle and image byte-exact; the on-complete hook runs', async () => {
    const size = 5 * 1024 * 1024 + 321;
    const image = join(dir, 'master.img');
    await writeImage(image, { size, seed: 'bundle' });
    const coordinator = role('coordinator', ['coordinator', '--listen', '127.0.8.1:0', '--log-format', 'pretty']);
    const url = (await coordinator.line(/listening on (ws:\/\/\S+)/))[1]!;
    const common = ['--coordinator', url, '--session', 'b', '--log-format', 'json'];
    const seeder = role('seeder', [
      'seed',
      image,
      ...common,
      '--listen',
      '127.0.8.2:0',
      '--slice',
      '1MiB',
      '--end-count',
      '2',
    ]);
    // Peer 1 is set up as boot media would be: target and on-complete hook on the kernel command line.
    const line = join(dir, 'cmdline');
    const hookOut = join(dir, 'hook.txt');
    await writeFile(
      line,
      `quiet cascade.target=${join(dir, 't1.img')}  cascade.on-complete="echo $CASCADE_RESULT $CASCADE_EXIT_CODE $CASCADE_IMAGE_ID > ${hookOut}"\n`,
    );
    const peers = [
      role('peer-1', ['peer', ...common, '--cmdline-file', line, '--listen', '127.0.8.3:0']),
      role('peer-2', ['peer', ...common, '--target', join(dir, 't2.img'), '--listen', '127.0.8.4:0']),
    ];
    const codes = await Promise.all(peers.map((p) => exitOf(p, 90_000)));
    assert.deepEqual(codes, [0, 0], `peer logs: ${peers.map((p) => p.logFile).join(', ')}`);
    const want = await readFile(image);
    for (const i of [1, 2]) {
      assert.equal((await stat(join(dir, `t${i}.img`))).size, size);
      assert.ok(await sameBytes(join(dir, `t${i}.img`), want), `t${i}.img differs`);
    }
    assert.equal(await exitOf(seeder, 30_000), 0);
    assert.match(await readFile(hookOut, 'utf8'), /^imaged 0 [0-9a-f]{32}\n$/);
    // pino-pretty is inlined: the coordinator's human-readable log is there, not JSON.
    await coordinator.stop();
    const log = await readFile(coordinator.logFile, 'utf8');
    assert.match(log, /INFO.*coordinator listening/);
    assert.doesNotMatch(log, /Error|Cannot find/);
  });
});
