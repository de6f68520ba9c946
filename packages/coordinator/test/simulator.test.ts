import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planFailures } from '../src/simulator/failures.js';
import { progressionRows, toCsv, toJson, formatTable } from '../src/simulator/report.js';
import type { SimulationParams } from '../src/simulator/params.js';
import { simulate } from '../src/simulator/simulate.js';

const MIN = 60_000;
const GiB = 2 ** 30;
const csus: SimulationParams = {
  peers: 682,
  seederCapacity: 2,
  peerCapacity: 3,
  mode: 'classic',
  model: { kind: 'fixed', transferMs: 20 * MIN },
};
/** Ideal links (no TCP framing or ACKs, no seeder start-up), fan-out 3 in relay mode too. */
const ideal = { frameOverhead: 1, ackOverhead: 0, startMs: 0 } as const;
const lab = (mode: 'classic' | 'relay', peers = 300): SimulationParams => ({
  peers,
  seederCapacity: 2,
  peerCapacity: 3,
  relayCapacity: 3,
  mode,
  model: { kind: 'fluid', imageBytes: 8 * GiB, linkBps: 125e6, ...ideal },
});

test('the CSUS table: 2, 10, 42, 170, 682 machines imaged at 20, 40, 60, 80, 100 minutes', () => {
  const run = simulate(csus);
  const rows = progressionRows([run], 20 * MIN);
  assert.deepEqual(
    rows.map((r) => [r.atMs / MIN, r.imaged[0]]),
    [
      [20, 2],
      [40, 10],
      [60, 42],
      [80, 170],
      [100, 682],
    ],
  );
  assert.equal(run.makespanMs, 100 * MIN);
  assert.equal(run.ratio, 5);
  assert.equal(run.complete, true);
  assert.equal(run.assignments, 682);
});

test('the CSUS table is printed with one row per 20 minutes', () => {
  const lines = formatTable([simulate(csus)], 20 * MIN);
  const counts = lines.slice(1).map((l) => l.trim().split(/\s+/).slice(0, 3).join(' '));
  assert.deepEqual(counts, ['20 min 2', '40 min 10', '60 min 42', '80 min 170', '100 min 682']);
});

test('in the fixed model relay mode streams: each relay hop adds one slice time', () => {
  const chain: SimulationParams = {
    ...csus,
    peers: 10,
    seederCapacity: 1,
    peerCapacity: 1,
    mode: 'relay',
    forward: 'store-and-forward',
  };
  const run = simulate({
    ...chain,
    model: { kind: 'fixed', transferMs: 100_000, imageBytes: 100 * 4096 },
    sliceBytes: 4096,
  });
  assert.equal(run.progression.length, 10);
  run.progression.forEach((p, i) =>
    assert.ok(Math.abs(p.atMs - 100_000 * (1 + i / 100)) < 1e-6, `peer ${i + 1} at ${p.atMs}`),
  );
});

test('a simulation is deterministic for a seed, and the seed decides who fails when', () => {
  const params = { ...lab('relay', 200), fail: 0.1, seed: 7 };
  assert.deepEqual(simulate(params), simulate(params));
  assert.deepEqual(planFailures(200, 0.1, 1000, 7), planFailures(200, 0.1, 1000, 7));
  assert.notDeepEqual(planFailures(200, 0.1, 1000, 7), planFailures(200, 0.1, 1000, 8));
  assert.equal(planFailures(200, 0.1, 1000, 7).length, 20);
});

test('--fail costs time and still images every surviving peer', () => {
  const run = simulate({ ...csus, fail: 0.1, seed: 4 });
  assert.equal(run.failed, 68);
  assert.equal(run.survivors, 614);
  assert.equal(run.survivorsImaged, 614);
  assert.ok(run.withoutFailures);
  assert.ok(run.makespanMs > run.withoutFailures.makespanMs, `${run.makespanMs} > ${run.withoutFailures.makespanMs}`);
  const relay = simulate({ ...lab('relay'), fail: 0.1, seed: 1 });
  assert.ok(relay.withoutFailures && relay.makespanMs > relay.withoutFailures.makespanMs);
  assert.ok(relay.retries > 0, 'clients of lost relays rejoined the queue');
  assert.equal(relay.survivorsImaged, relay.survivors);
});

test('with failures every surviving peer is imaged, whatever the seed', () => {
  for (let seed = 1; seed <= 6; seed++) {
    for (const params of [csus, lab('classic', 200), lab('relay', 50)]) {
      const run = simulate({ ...params, fail: 0.2, seed });
      assert.equal(run.survivorsImaged, run.survivors, `${params.mode} ${params.model.kind} seed ${seed}`);
      assert.equal(run.complete, true);
    }
  }
});

test('fluid model: one client takes S/B', () => {
  const run = simulate({ ...lab('classic'), peers: 1 });
  assert.ok(Math.abs(run.ratio - 1) < 0.01, `ratio ${run.ratio}`);
  assert.ok(Math.abs(run.makespanMs - (8 * GiB) / 125e3) < 1);
});

test('fluid model: a server uplink is shared by its clients, downlink and disk cap the rest', () => {
  const shared = simulate({ ...lab('classic'), peers: 3, seederCapacity: 3, peerCapacity: 0 });
  assert.ok(Math.abs(shared.ratio - 3) < 1e-6, `three clients share one uplink: ${shared.ratio}`);
  const fatSeeder = { kind: 'fluid' as const, imageBytes: 8 * GiB, linkBps: 125e6, seederLinkBps: 1.25e9, ...ideal };
  const fast = simulate({ ...lab('classic'), peers: 3, seederCapacity: 3, peerCapacity: 0, model: fatSeeder });
  assert.ok(Math.abs(fast.ratio - 1) < 1e-6, `a 10× seeder link feeds three at full rate: ${fast.ratio}`);
  const disk = simulate({ ...lab('classic'), peers: 1, model: { ...fatSeeder, diskBps: 62.5e6 } });
  assert.ok(Math.abs(disk.makespanMs - (8 * GiB) / 62.5e3) < 1, 'a disk at half the link rate doubles the time');
});

test('fluid model: relay finishes well before classic', () => {
  const classic = simulate(lab('classic'));
  const relay = simulate(lab('relay'));
  assert.ok(relay.makespanMs < classic.makespanMs / 3, `relay ${relay.ratio} × vs classic ${classic.ratio} ×`);
  // Fan-out 3 shares each relay's uplink three ways: about 3 × S/B, plus a slice per hop.
  assert.ok(relay.ratio > 3 && relay.ratio < 3.1, `relay ratio ${relay.ratio}`);
  assert.equal(relay.survivorsImaged, 300);
});

test('fluid model, store-and-forward: a relay chain approaches S/B, one slice per hop behind', () => {
  const run = simulate({
    ...lab('relay', 100),
    seederCapacity: 1,
    peerCapacity: 1,
    relayCapacity: 1,
    sliceBytes: 4 * 2 ** 20,
    forward: 'store-and-forward',
  });
  // One slice per hop, plus the head probe's trades (two: the first gains nothing at equal rates),
  // ~0.001 × S/B together.
  const expected = 1 + 99 / 2048;
  assert.ok(run.ratio >= expected && run.ratio - expected < 2e-3, `chain ratio ${run.ratio}, expected ${expected}`);
});

test('CSV has a header and one row per change, from 0', () => {
  const runs = [simulate({ ...csus, peers: 10 }), simulate({ ...csus, peers: 10, mode: 'relay' })];
  const lines = toCsv(runs).trimEnd().split('\n');
  assert.equal(lines[0], 'mode,seconds,imaged');
  assert.equal(lines[1], 'classic,0,0');
  assert.equal(lines.length, 1 + runs.reduce((n, r) => n + 1 + r.progression.length, 0));
  for (const line of lines.slice(1)) assert.match(line, /^(classic|relay),\d+(\.\d+)?,\d+$/);
  assert.equal(lines[lines.length - 1]?.split(',')[2], '10');
});

test('JSON holds the parameters, and per run its figures, table and progression', () => {
  const params = { ...csus, peers: 42 };
  const run = simulate(params);
  const json = JSON.parse(JSON.stringify(toJson([run], { params, everyMs: 20 * MIN }))) as {
    parameters: { peers: number; everyMs: number };
    runs: {
      mode: string;
      makespanMs: number;
      lowerBoundMs: number;
      complete: boolean;
      table: unknown[];
      progression: unknown[];
    }[];
  };
  assert.equal(json.parameters.peers, 42);
  assert.equal(json.parameters.everyMs, 20 * MIN);
  assert.equal(json.runs.length, 1);
  const r = json.runs[0]!;
  assert.equal(r.mode, 'classic');
  assert.equal(r.makespanMs, run.makespanMs);
  assert.equal(r.lowerBoundMs, 20 * MIN);
  assert.equal(r.complete, true);
  assert.deepEqual(r.table, [
    { atMs: 20 * MIN, imaged: 2 },
    { atMs: 40 * MIN, imaged: 10 },
    { atMs: 60 * MIN, imaged: 42 },
  ]);
  assert.deepEqual(r.progression.at(-1), { atMs: 60 * MIN, imaged: 42 });
});

test('impossible parameters are refused', () => {
  assert.throws(() => simulate({ ...csus, peers: -1 }), RangeError);
  assert.throws(() => simulate({ ...csus, seederCapacity: 0 }), RangeError);
  assert.throws(() => simulate({ ...csus, fail: 1 }), RangeError);
  assert.throws(() => simulate({ ...csus, model: { kind: 'fixed', transferMs: 0 } }), RangeError);
  assert.throws(
    () => simulate({ ...lab('classic'), model: { kind: 'fluid', imageBytes: GiB, linkBps: -1 } }),
    RangeError,
  );
});
