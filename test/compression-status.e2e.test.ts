import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { exitWithin, spawnRole, startCoordinator } from '@cascade/cli';
import { statusSnapshotSchema } from '@cascade/common';
import type { StatusSnapshot } from '@cascade/coordinator';
import { runCascade, tempDir } from './helpers.js';

const MiB = 1024 * 1024;
const SIZE = 8 * MiB;
const PEERS = 2;

/** Text-like bytes (numbered log lines): zstd shrinks them several times; no slice is all zeros. */
function compressibleImage(size: number): Buffer {
  const lines: string[] = [];
  let n = 0;
  for (let len = 0; len < size; n++) {
    const line = `${String(n).padStart(8, '0')} INFO cascade lab machine pc-${n % 97} imaged slice ${n % 1013}\n`;
    lines.push(line);
    len += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, size);
}

describe('compressed slices are visible', () => {
  test('status, status --json and /metrics show image, used and wire bytes, and a ratio above 1', async () => {
    const dir = await tempDir('compression-status');
    const image = join(dir, 'logs.img');
    await writeFile(image, compressibleImage(SIZE));
    const coordinator = await startCoordinator(dir, '127.0.34.1');
    const http = coordinator.url.replace(/^ws/, 'http');
    const seeder = spawnRole(
      'seeder',
      [
        ...['seed', image, '--coordinator', coordinator.url, '--session', 'lab', '--listen', '127.0.34.2:0'],
        ...['--slice', '1MiB', '--start-count', String(PEERS), '--end-count', String(PEERS), '--name', 'seeder'],
      ],
      dir,
    );
    const peers = Array.from({ length: PEERS }, (_, i) =>
      spawnRole(
        `peer-${i + 1}`,
        [
          ...['peer', '--coordinator', coordinator.url, '--session', 'lab', '--target', join(dir, `t${i}.img`)],
          ...['--listen', `127.0.34.${10 + i}:0`, '--name', `pc-${i + 1}`],
        ],
        dir,
      ),
    );
    after(async () => {
      for (const r of [coordinator, seeder, ...peers]) r.proc.kill('SIGTERM');
      await Promise.all([coordinator, seeder, ...peers].map((r) => exitWithin(r, 5000)));
    });
    for (const p of peers) assert.equal(await exitWithin(p, 120_000), 0, `${p.name} failed; see ${p.logFile}`);

    const status = (await (await fetch(`${http}/status?session=lab`)).json()) as StatusSnapshot;
    assert.ok(statusSnapshotSchema.safeParse(status).success, 'GET /status matches the status schema');
    const b = status.sessions[0]?.bytes;
    assert.ok(b, JSON.stringify(status.sessions[0]));
    assert.equal(b.image, SIZE);
    assert.equal(b.used, SIZE, 'no filesystem: every byte is used');
    assert.equal(b.payload, PEERS * SIZE, 'every peer received the whole payload');
    assert.ok(b.wire > 0 && b.wire < b.payload, `wire ${b.wire} < payload ${b.payload}`);
    assert.ok(b.ratio !== null && b.ratio > 1.5, `ratio ${b.ratio}`);
    assert.ok(b.wireEstimate !== null && b.wireEstimate <= SIZE, `estimate ${b.wireEstimate}`);

    const json = await runCascade(['status', '--coordinator', coordinator.url, '--session', 'lab', '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual((JSON.parse(json.stdout) as StatusSnapshot).sessions[0]?.bytes, b);
    const plain = await runCascade(['status', '--coordinator', coordinator.url, '--session', 'lab']);
    assert.match(
      plain.stdout,
      /image 8\.0 MiB · used 8\.0 MiB · wire ≈ [\d.]+ [KM]iB · received 16\.0 MiB in [\d.]+ [KM]iB on the wire \([\d.]+×\)/,
    );

    const metrics = await (await fetch(`${http}/metrics`)).text();
    const value = (name: string): number =>
      Number(new RegExp(`^${name}\\{session="lab"\\} (\\S+)$`, 'm').exec(metrics)?.[1]);
    assert.equal(value('cascade_session_image_bytes'), SIZE);
    assert.equal(value('cascade_session_used_bytes'), SIZE);
    assert.equal(value('cascade_session_payload_bytes_total'), PEERS * SIZE);
    assert.equal(value('cascade_session_wire_bytes_total'), b.wire);
    assert.ok(value('cascade_session_compression_ratio') > 1.5);
  });
});
