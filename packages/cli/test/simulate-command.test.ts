import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { CascadeError } from '@cascade/common';
import { parseSlowHost } from '../src/commands/simulate.js';

const LAUNCHER = new URL('../bin/cascade.js', import.meta.url);

function cascade(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CASCADE_')));
  return new Promise((resolve) => {
    execFile(process.execPath, [LAUNCHER.pathname, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('cascade simulate', () => {
  test('classic with the CSUS parameters prints 2, 10, 42, 170, 682', async () => {
    const r = await cascade(['simulate', '--peers', '682', '--transfer', '20m', '--every', '20m']);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.split('\n').filter((l) => /^\s+\d+ min\s+\d+\s+[\d.]+%$/.test(l));
    assert.deepEqual(
      rows.map((l) => l.trim().split(/\s+/)[2]),
      ['2', '10', '42', '170', '682'],
    );
  });

  test('--slow gives a peer its own link; the report puts it against its own S/B', async () => {
    const args = ['simulate', '--peers', '16', '--image', '256MiB', '--link', '100Mbit', '--mode', 'relay'];
    const r = await cascade([...args, '--slow', '5@25Mbit', '--no-reroute']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /peer 5 at 25 Mbit\/s/);
    assert.match(r.stdout, /^16 peers · seeder capacity 1 · peer capacity 3 · relay: relay capacity 1, cut-through/);
    assert.match(r.stdout, /peer 5 \(own link\): imaged at .* = 1\.0\d × its S\/B \(1m26s\)/);
    assert.match(r.stdout, /the other 15: 1m32s = 4\.30 × S\/B/);
  });

  test('a bad --slow, or --slow without the fluid model, is a usage error (exit 2)', async () => {
    const out = await cascade(['simulate', '--peers', '4', '--image', '1GiB', '--link', '1Gbit', '--slow', '9@1Mbit']);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /--slow: expected PEER@RATE with PEER in 1\.\.4, got "9@1Mbit" \(ERR_BAD_CONFIG\)/);
    const fixed = await cascade(['simulate', '--peers', '4', '--slow', '1@1Mbit']);
    assert.equal(fixed.code, 2);
    assert.match(fixed.stderr, /--slow needs the fluid model/);
  });

  test('--queue fifo: tail-drop link queues, named in the report; classic finishes sooner than on fair queues', async () => {
    const args = ['simulate', '--peers', '16', '--image', '256MiB', '--link', '100Mbit', '--json'];
    const [fair, fifo] = await Promise.all([cascade(args), cascade([...args, '--queue', 'fifo'])]);
    assert.equal(fair.code, 0, fair.stderr);
    assert.equal(fifo.code, 0, fifo.stderr);
    const ratio = (out: string): number => (JSON.parse(out) as { runs: Array<{ ratio: number }> }).runs[0]!.ratio;
    assert.ok(ratio(fifo.stdout) < ratio(fair.stdout), `fifo ${ratio(fifo.stdout)} vs fair ${ratio(fair.stdout)}`);
    const text = await cascade(['simulate', '--peers', '4', '--image', '1GiB', '--link', '1Gbit', '--queue', 'fifo']);
    assert.match(text.stdout, /TCP framing and ACKs, FIFO link queues, seeder start/);
    const fixed = await cascade(['simulate', '--peers', '4', '--queue', 'fifo']);
    assert.equal(fixed.code, 2);
    assert.match(fixed.stderr, /--queue needs the fluid model/);
  });

  test('PEER@RATE is both ways, PEER@DOWN,UP each its own', () => {
    assert.deepEqual(parseSlowHost('3@25Mbit', 4), { index: 3, downBps: 3_125_000, upBps: 3_125_000 });
    assert.deepEqual(parseSlowHost('4@10MB/s,1MB/s', 4), { index: 4, downBps: 10_000_000, upBps: 1_000_000 });
    assert.throws(() => parseSlowHost('0@1Mbit', 4), CascadeError);
    assert.throws(() => parseSlowHost('2@fast', 4), /--slow/);
    assert.throws(() => parseSlowHost('2@0Mbit', 4), /larger than 0/);
  });
});
