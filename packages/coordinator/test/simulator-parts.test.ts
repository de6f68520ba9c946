import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { renderChart } from '../src/simulator/chart.js';
import { EventQueue } from '../src/simulator/event-queue.js';
import { FlowNetwork, LATE_SHARE, type FlowHost } from '../src/simulator/flow-network.js';
import { createPrng, sampleIndices } from '../src/simulator/prng.js';
import { imagedAt, niceStep, sampleTimes } from '../src/simulator/progression.js';
import { waterFill } from '../src/simulator/water-fill.js';

test('the event queue pops by time, and events at the same time in the order they were pushed', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 300 }), (times) => {
      const q = new EventQueue<number>();
      times.forEach((t, i) => q.push(t, i));
      const out: Array<[number, number]> = [];
      for (let e = q.pop(); e; e = q.pop()) out.push([e.time, e.item]);
      const expected = times.map((t, i): [number, number] => [t, i]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      assert.deepEqual(out, expected);
      assert.equal(q.size, 0);
    }),
  );
});

test('water-filling gives capped flows their cap and splits the rest evenly', () => {
  assert.deepEqual(waterFill(9, [10, 10, 10]), [3, 3, 3]);
  assert.deepEqual(waterFill(9, [1, 10, 10]), [1, 4, 4]);
  assert.deepEqual(waterFill(Infinity, [2, 5]), [2, 5]);
  assert.deepEqual(waterFill(6, [0, 10]), [0, 6]);
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 1e6, noNaN: true }),
      fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 8 }),
      (cap, caps) => {
        const rates = waterFill(cap, caps);
        const sum = rates.reduce((a, b) => a + b, 0);
        assert.ok(sum <= cap * (1 + 1e-9) + 1e-9);
        rates.forEach((r, i) => assert.ok(r >= 0 && r <= (caps[i] as number)));
      },
    ),
  );
});

test('the PRNG repeats for a seed, stays in [0, 1), and samples distinct indices', () => {
  const a = createPrng(42);
  const b = createPrng(42);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(
    xs,
    Array.from({ length: 1000 }, () => b()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.notEqual(createPrng(1)(), createPrng(2)());
  const picked = sampleIndices(createPrng(3), 100, 30);
  assert.equal(new Set(picked).size, 30);
  assert.ok(picked.every((i) => i >= 0 && i < 100));
});

function network(fifo = false): { net: FlowNetwork; events: Map<string, number>; seeder: FlowHost } {
  const events = new Map<string, number>();
  const net = new FlowNetwork({ imageBytes: 100, sliceBytes: 1, fifo, schedule: (h, t) => events.set(h.id, t) });
  return { net, events, seeder: net.host('seeder', Infinity, Infinity, true) };
}

test('a relay child that is ahead of its new parent stalls until the parent passes it', () => {
  const { net, events, seeder } = network();
  const parent = net.host('parent', 10, 1);
  const child = net.host('child', 10, 1);
  net.attach(parent, seeder, 0);
  net.flush(0);
  assert.equal(parent.rate, 1);
  assert.equal(events.get('parent'), 100);
  child.bytes = 80; // re-attached after losing its first server
  net.attach(child, parent, 50);
  net.flush(50);
  assert.equal(child.rate, 0);
  assert.equal(events.get('child'), 81, 'released when the parent holds one slice more than the child');
  assert.equal(net.due(child, 81), false);
  net.flush(81);
  assert.equal(child.rate, 1, 'then bound to the parent, one slice behind');
  assert.equal(net.due(parent, 100), true);
  net.finish(parent, 100);
  net.flush(100);
  assert.equal(events.get('child'), 101, 'the last slice follows the parent');
});

test('a relay child behind its parent runs at its share until it catches up', () => {
  const { net, events, seeder } = network();
  const parent = net.host('parent', 10, 1);
  const child = net.host('child', 10, 3);
  net.attach(parent, seeder, 0);
  net.flush(0);
  net.attach(child, parent, 50);
  net.flush(50);
  assert.equal(child.rate, 3);
  assert.equal(events.get('child'), 50 + 49 / 2, 'the gap of 49 bytes closes at 3 − 1 bytes/ms');
  net.due(child, 74.5);
  net.flush(74.5);
  assert.equal(child.rate, 1);
});

test('progression helpers: count at a time, sample times, round steps', () => {
  const points = [
    { atMs: 10, imaged: 2 },
    { atMs: 20, imaged: 10 },
  ];
  assert.equal(imagedAt(points, 9), 0);
  assert.equal(imagedAt(points, 10), 2);
  assert.equal(imagedAt(points, 19.999), 2);
  assert.equal(imagedAt(points, 1e9), 10);
  assert.deepEqual(sampleTimes(10, 20), [10, 20]);
  assert.deepEqual(sampleTimes(10, 21), [10, 20, 30]);
  assert.equal(niceStep(100 * 60_000), 10 * 60_000);
  assert.equal(niceStep(14.9 * 60_000), 2 * 60_000);
});

test('the chart draws each run as a rising line, with a legend when there are two', () => {
  const axis = { maxY: 10, endMs: 20, width: 21, height: 3, formatX: (ms: number) => `${ms}ms` };
  const one = renderChart([{ label: 'classic', points: [{ atMs: 10, imaged: 10 }] }], axis);
  assert.equal(one.length, 4);
  assert.match(one[0] as string, /^10 ┤ {10}╭─{10}$/);
  assert.match(one[2] as string, /^ 0 ┼─{10}╯$/);
  assert.match(one[3] as string, /^ {4}0ms {5}10ms {5}20ms$/);
  const two = renderChart(
    [
      { label: 'classic', points: [{ atMs: 10, imaged: 10 }] },
      { label: 'relay', points: [{ atMs: 5, imaged: 10 }] },
    ],
    axis,
  );
  assert.equal(two.length, 5);
  assert.match(two[4] as string, /─── classic {3}━━━ relay/);
  assert.ok((two[0] as string).includes('┏'));
});

const near = (a: number | undefined, b: number, what?: string): void =>
  assert.ok(Math.abs((a as number) - b) < 1e-9, `${what ?? 'rate'}: ${a} is not ${b}`);

test('a FIFO uplink: a transfer that joins it full trickles until the earlier ones end, then shares', () => {
  const { net } = network(true);
  const server = net.host('server', 10, Infinity, true);
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((id) => net.host(id, 10, 10));
  net.attach(a as FlowHost, server, 0);
  net.attach(b as FlowHost, server, 0); // the same moment, before any byte: not late
  net.flush(0);
  assert.deepEqual([a?.rate, b?.rate], [5, 5]);
  net.attach(c as FlowHost, server, 1); // the queue is full with a and b
  net.flush(1);
  near(c?.rate, LATE_SHARE * 10);
  near(a?.rate, (10 - LATE_SHARE * 10) / 2, 'the early ones share the rest');
  net.detach(a as FlowHost, 2);
  net.flush(2);
  near(c?.rate, LATE_SHARE * 10, 'b still holds the queue');
  net.detach(b as FlowHost, 3);
  net.flush(3);
  near(c?.rate, 10, 'the earlier transfers ended: the late one has the link');
  net.attach(d as FlowHost, server, 4);
  net.flush(4);
  near(d?.rate, LATE_SHARE * 10, 'and the next to join waits behind it');
});

/** Client a joins a complete server (uplink 10) at time 0, client b at 1: their rates then. */
function secondJoins(fifo: boolean, aDown: number): [number, number] {
  const { net } = network(fifo);
  const server = net.host('server', 10, Infinity, true);
  const a = net.host('a', 10, aDown);
  const b = net.host('b', 10, 10);
  net.attach(a, server, 0);
  net.flush(0);
  net.attach(b, server, 1);
  net.flush(1);
  return [a.rate, b.rate];
}

test('a FIFO uplink that is not full takes a new transfer at its fair share', () => {
  // a's downlink holds it to 2 of the server's 10: the queue is not full when b joins.
  assert.deepEqual(secondJoins(true, 2), [2, 8]);
});

test('fair uplinks (the default) never make a late transfer', () => {
  assert.deepEqual(secondJoins(false, 10), [5, 5]);
});
