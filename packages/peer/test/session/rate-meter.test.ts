import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RateMeter } from '../../src/session/rate-meter.js';

describe('RateMeter', () => {
  test('a transfer that just began: its rate over the time since its bytes began, not the whole window', () => {
    let now = 10_000;
    const m = new RateMeter(1000, () => now);
    for (let t = 0; t <= 400; t += 50) {
      now = 10_000 + t;
      m.add(50_000); // 1 MB/s
    }
    assert.equal(Math.round(m.rate()), 1_125_000, '450 kB over 400 ms (not 450 kB over a second)');
  });

  test('a steady stream: the rate over the last window; a pause of a whole window starts a new run', () => {
    let now = 0;
    const m = new RateMeter(1000, () => now);
    for (; now <= 3000; now += 100) m.add(100_000);
    now -= 100;
    assert.equal(Math.round(m.rate()), 1_000_000);
    now += 5000; // nothing for 5 s
    assert.equal(m.rate(), 0);
    m.add(100_000);
    assert.equal(m.rate(), 400_000, 'one read: averaged over the shortest span (250 ms), not 0 ms');
  });
});
