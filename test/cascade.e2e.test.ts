import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runLab, writeImage, type LabResult } from '@cascade/cli';
import { runCascade, tempDir } from './helpers.js';

const MiB = 1024 * 1024;

function explain(r: LabResult): string {
  return r.peers
    .map((p) => `${p.name}: exit ${p.exit} exact ${p.byteExact} ${p.error ?? ''} (${p.logFile})`)
    .join('\n');
}

describe('the cascade end to end (real processes on loopback)', () => {
  test('1 seeder + 8 peers: every target byte-exact, and peers served peers', async () => {
    const dir = await tempDir('e2e');
    const size = 24 * MiB + 12_345; // a short last slice
    const image = join(dir, 'master.img');
    await writeImage(image, { size, seed: 'e2e-8' });
    const r = await runLab({ workdir: dir, image, imageSize: size, peers: 8, sliceSize: '1MiB', timeoutMs: 120_000 });
    assert.ok(r.ok, explain(r));
    assert.equal(r.peers.filter((p) => p.byteExact).length, 8);
    const servedByPeers = r.peers.filter((p) => p.servers.some((s) => s !== 'seeder'));
    assert.ok(servedByPeers.length > 0, `no peer was served by another peer:\n${explain(r)}`);
    const served = r.peers.reduce((a, p) => a + p.bytesServed, 0);
    assert.ok(served > 0, 'peers served no bytes');
  });

  test('a server that sends one corrupt slice is caught by MD5 and the slice fetched again', async () => {
    const dir = await tempDir('e2e-corrupt');
    const size = 8 * MiB;
    const image = join(dir, 'master.img');
    await writeImage(image, { size, seed: 'e2e-corrupt', zeros: [] });
    const r = await runLab({
      workdir: dir,
      image,
      imageSize: size,
      peers: 2,
      sliceSize: '256KiB',
      seederArgs: ['--fault', 'corrupt-once:5'],
      timeoutMs: 60_000,
    });
    assert.ok(r.ok, explain(r));
    const bad = r.peers.reduce((a, p) => a + p.badSlices, 0);
    assert.equal(bad, 1, `expected exactly one bad slice to be detected:\n${explain(r)}`);
    assert.ok(r.peers.every((p) => p.byteExact));
  });

  test('cascade demo (small): exits 0; it and every role it starts run under the crash guard', async () => {
    const r = await runCascade(['demo', '--peers', '3', '--size', '8MiB', '--json'], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { ok?: boolean };
    assert.equal(result.ok, true, r.stdout);
  });
});
