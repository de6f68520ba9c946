import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { exitWithin, fetchSession, spawnRole, startCoordinator, writeImage } from '@cascade/cli';
import { statusSnapshotSchema } from '@cascade/common';
import type { SessionStatus, StatusSnapshot } from '@cascade/coordinator';
import { runCascade, tempDir, waitUntil, type CascadeRun } from './helpers.js';

const MiB = 1024 * 1024;
const SIZE = 6 * MiB;
const PEERS = 3;

const cascade = (args: string[]): Promise<CascadeRun> => runCascade(args);

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict reader of the Prometheus text format (0.0.4): every line is blank, `# HELP name text`,
 * `# TYPE name type`, or `name{label="value",…} number`; every sample's family has a TYPE first.
 */
function parsePrometheus(text: string): Sample[] {
  const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const help = new RegExp(`^# HELP (${name}) .*$`);
  const type = new RegExp(`^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`);
  const label = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
  const sample = new RegExp(`^(${name})(?:\\{((?:${label})(?:,${label})*)?,?\\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$`);
  const typed = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const h = help.exec(line);
    if (h) continue;
    const t = type.exec(line);
    if (t) {
      typed.add(t[1]!);
      continue;
    }
    const s = sample.exec(line);
    assert.ok(s, `not a Prometheus line: ${JSON.stringify(line)}`);
    const family = s[1]!.replace(/_(bucket|sum|count)$/, '');
    assert.ok(typed.has(s[1]!) || typed.has(family), `sample before its TYPE: ${line}`);
    const labels: Record<string, string> = {};
    for (const m of (s[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!;
    samples.push({ name: s[1]!, labels, value: Number(s[3]) });
  }
  return samples;
}

function metric(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('status and metrics during a live cascade', () => {
  test('/status, status --json and /metrics describe the run; the counters add up at its end', async () => {
    const dir = await tempDir('status-metrics');
    const image = join(dir, 'img.bin');
    await writeImage(image, { size: SIZE, seed: 'metrics', zeros: [] });
    const coordinator = await startCoordinator(dir, '127.0.33.1');
    const http = coordinator.url.replace(/^ws/, 'http');
    const seeder = spawnRole(
      'seeder',
      [
        ...['seed', image, '--coordinator', coordinator.url, '--session', 'lab', '--listen', '127.0.33.2:0'],
        ...['--slice', '1MiB', '--capacity', '1', '--rate', '2MB/s', '--start-count', String(PEERS)],
        // One more than the peers: the session stays RUNNING while the test reads it (however slowly
        // on a loaded machine); the test ends it once every peer is imaged.
        ...['--end-count', String(PEERS + 1), '--fault', 'corrupt-once:2', '--name', 'seeder'],
      ],
      dir,
    );
    const peers = Array.from({ length: PEERS }, (_, i) =>
      spawnRole(
        `peer-${i + 1}`,
        [
          ...['peer', '--coordinator', coordinator.url, '--session', 'lab', '--target', join(dir, `t${i}.img`)],
          ...['--listen', `127.0.33.${10 + i}:0`, '--capacity', '1', '--rate', '2MB/s', '--name', `pc-${i + 1}`],
        ],
        dir,
      ),
    );
    after(async () => {
      for (const r of [coordinator, seeder, ...peers]) r.proc.kill('SIGTERM');
      await Promise.all([coordinator, seeder, ...peers].map((r) => exitWithin(r, 5000)));
    });

    // during the run: a snapshot with a transfer and a waiting client
    let live: SessionStatus | undefined;
    for (let i = 0; i < 120 && !live; i++) {
      await sleep(250);
      const s = (await (await fetch(`${http}/status`)).json()) as StatusSnapshot;
      const lab = s.sessions.find((x) => x.name === 'lab');
      if (lab && lab.transfers.length > 0 && lab.waiting.length > 0) live = lab;
    }
    assert.ok(live, 'never saw a transfer with a client waiting');
    assert.equal(live.state, 'running');
    assert.deepEqual(live.image && { name: live.image.name, size: live.image.size, slices: live.image.slices }, {
      name: 'img.bin',
      size: SIZE,
      slices: 6,
    });
    const seederRow = live.servers.find((x) => x.name === 'seeder');
    assert.match(seederRow?.host ?? '', /^127\.0\.33\.2:\d+$/);
    assert.equal(seederRow?.capacity, 1);
    assert.equal(live.transfers[0]!.serverName, 'seeder');
    assert.match(live.transfers[0]!.clientName, /^pc-\d$/);
    assert.equal(live.waiting[0]!.position, 0);

    const metricsLive = parsePrometheus(await (await fetch(`${http}/metrics`)).text());
    assert.equal(metric(metricsLive, 'cascade_session_state', { session: 'lab', state: 'running' }), 1);
    assert.equal(metric(metricsLive, 'cascade_session_state', { session: 'lab', state: 'waiting' }), 0);

    const json = await cascade(['status', '--coordinator', coordinator.url, '--session', 'lab', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const viaCli = JSON.parse(json.stdout) as StatusSnapshot;
    assert.deepEqual(Object.keys(viaCli.sessions[0]!).sort(), Object.keys(live).sort());
    assert.equal(viaCli.sessions[0]!.image?.imageId, live.image?.imageId);

    const plain = await cascade(['status', '--coordinator', coordinator.url]);
    assert.match(plain.stdout, /SESSION lab · RUNNING · img\.bin 6\.0 MiB · imaged \d of 4/);
    assert.match(plain.stdout, /SERVER QUEUE \d+/);
    assert.ok(!plain.stdout.includes('\u001b'), 'escape sequence in plain status');

    // at the end: every peer imaged, and the counters add up exactly
    await waitUntil(
      'every peer imaged',
      async () => (await fetchSession(coordinator.url, 'lab'))?.imaged === PEERS,
      90_000,
    );
    const ended = await cascade(['end', 'lab', '--coordinator', coordinator.url]);
    assert.equal(ended.code, 0, ended.stderr);
    for (const p of peers) assert.equal(await exitWithin(p, 90_000), 0, `${p.name} failed; see ${p.logFile}`);
    const end = parsePrometheus(await (await fetch(`${http}/metrics`)).text());
    const lab = { session: 'lab' };
    assert.equal(metric(end, 'cascade_session_state', { ...lab, state: 'ended' }), 1);
    assert.equal(metric(end, 'cascade_machines_imaged', lab), PEERS);
    assert.equal(metric(end, 'cascade_transfers_total', { ...lab, outcome: 'done' }), PEERS);
    assert.equal(metric(end, 'cascade_slices_verified_total', lab), PEERS * 6);
    assert.equal(metric(end, 'cascade_bytes_received_total', lab), PEERS * SIZE);
    assert.equal(metric(end, 'cascade_digest_mismatches_total', lab), 1);
    assert.equal(metric(end, 'cascade_queue_length', { ...lab, queue: 'clients' }), 0);
    assert.equal(metric(end, 'cascade_transfers_active', lab), 0);
    assert.ok((metric(end, 'cascade_coordinator_process_resident_memory_bytes', {}) ?? 0) > 0);

    const status = (await (await fetch(`${http}/status?session=lab`)).json()) as StatusSnapshot;
    const final = status.sessions[0]!;
    assert.equal(final.imaged, PEERS);
    assert.equal(final.tree.length, PEERS);
    // a client's report, shown as its claim: the code is the client's, not the coordinator's own
    assert.ok(
      status.warnings.some((w) => w.event === 'bad-slices' && w.code === 'ERR_SLICE_DIGEST_MISMATCH' && w.reportedBy),
      JSON.stringify(status.warnings),
    );
    assert.ok(statusSnapshotSchema.safeParse(status).success, 'GET /status matches the status schema');
    assert.equal(await (await fetch(`${http}/healthz`)).text(), 'ok\n');
  });
});
