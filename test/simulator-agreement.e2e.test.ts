import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runLab, writeImage } from '@cascade/cli';
import { simulate } from '@cascade/coordinator';
import { tempDir } from './helpers.js';

const MiB = 1024 * 1024;

test('the simulator predicts a rate-capped loopback cascade within 15 %', async () => {
  const dir = await tempDir('agree');
  const size = 48 * MiB;
  const rate = 16_000_000; // bytes/s on every server's uplink
  const image = join(dir, 'master.img');
  await writeImage(image, { size, seed: 'agree', zeros: [] });
  const lab = await runLab({
    workdir: dir,
    image,
    imageSize: size,
    peers: 6,
    seederCapacity: 2,
    peerCapacity: 3,
    rate: String(rate),
    sliceSize: '1MiB',
    timeoutMs: 180_000,
  });
  assert.ok(lab.ok, lab.peers.map((p) => `${p.name}: ${p.exit} ${p.error ?? ''}`).join('\n'));
  assert.ok(lab.cascadeMs !== null, 'the coordinator reported no session start');
  const sim = simulate({
    peers: 6,
    seederCapacity: 2,
    peerCapacity: 3,
    mode: 'classic',
    // --rate paces payload bytes in the sender, and cascadeMs runs from the session's start: no
    // TCP framing, ACK or seeder start-up in this prediction (those are for shaped links, bench 2).
    model: { kind: 'fluid', imageBytes: size, linkBps: rate, frameOverhead: 1, ackOverhead: 0, startMs: 0 },
    sliceBytes: MiB,
  });
  const ratio = lab.cascadeMs / sim.makespanMs;
  console.log(
    `simulator ${(sim.makespanMs / 1000).toFixed(2)} s, loopback ${(lab.cascadeMs / 1000).toFixed(2)} s, ratio ${ratio.toFixed(3)}`,
  );
  assert.ok(
    Math.abs(ratio - 1) <= 0.15,
    `loopback ${lab.cascadeMs} ms vs simulated ${sim.makespanMs} ms (ratio ${ratio.toFixed(3)})`,
  );
});
