import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CascadeError } from '../src/errors.js';
import { formatBytes, formatDuration, formatRate, parseDuration, parseRate, parseSize } from '../src/units.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Assert that `fn` throws a CascadeError with code ERR_BAD_UNIT. */
function assertBadUnit(fn: () => unknown, input: unknown): void {
  assert.throws(
    fn,
    (err: unknown) => err instanceof CascadeError && err.code === 'ERR_BAD_UNIT',
    `expected ERR_BAD_UNIT for ${JSON.stringify(input)}`,
  );
}

describe('parseSize', () => {
  test('a bare number of bytes is taken as is, as a string or a number', () => {
    assert.equal(parseSize('4096'), 4096);
    assert.equal(parseSize(4096), 4096);
    assert.equal(parseSize('0'), 0);
    assert.equal(parseSize('10B'), 10);
  });

  test('binary units are powers of 1024 and decimal units powers of 1000', () => {
    assert.equal(parseSize('1KiB'), KiB);
    assert.equal(parseSize('1kB'), 1000);
    assert.equal(parseSize('256MiB'), 256 * MiB);
    assert.equal(parseSize('12MB'), 12_000_000);
    assert.equal(parseSize('1GiB'), GiB);
    assert.equal(parseSize('1GB'), 1_000_000_000);
    assert.equal(parseSize('2TiB'), 2 * 1024 * GiB);
    assert.equal(parseSize('2TB'), 2e12);
  });

  test('MiB and MB differ, so a 256MiB image is larger than a 256MB one', () => {
    assert.ok(parseSize('256MiB') > parseSize('256MB'));
    assert.equal(parseSize('256MiB') - parseSize('256MB'), 256 * MiB - 256e6);
  });

  test('fractions, surrounding spaces and a space before the unit are accepted', () => {
    assert.equal(parseSize('1.5GiB'), 1.5 * GiB);
    assert.equal(parseSize('  64 KiB '), 64 * KiB);
    assert.equal(parseSize('0.5KiB'), 512);
  });

  test('units are case-sensitive: K, kib, KIB, mb, bits and a bare prefix are refused', () => {
    for (const input of ['1KB', '1K', '64kib', '64KIB', '12mb', '12Mb', '12Mbit', '8G', '8g', '1k', '1M', '1b']) {
      assertBadUnit(() => parseSize(input), input);
    }
  });

  test('a refusal lists the accepted forms and explains K and a bare prefix', () => {
    assert.throws(() => parseSize('8G'), /neither bits nor bytes.*accepted: N \(bytes\), NB, NkB/);
    assert.throws(() => parseSize('1KB'), /K is not a unit, write k \(×1000\) or Ki \(×1024\)/);
  });

  test('an unknown unit, a rate unit or garbage is refused with ERR_BAD_UNIT', () => {
    for (const input of [
      '12XB',
      '12 furlongs',
      'abc',
      '',
      '   ',
      'MiB',
      '12MiB/s',
      '100Mbit',
      '1e6',
      '0x10',
      '1,5MiB',
      '5 5',
    ]) {
      assertBadUnit(() => parseSize(input), input);
    }
  });

  test('negative, fractional-byte, non-finite and too-large sizes are refused with ERR_BAD_UNIT', () => {
    for (const input of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
      assertBadUnit(() => parseSize(input), input);
    }
    for (const input of ['-1', '-1KiB', '99999999999TiB']) {
      assertBadUnit(() => parseSize(input), input);
    }
  });

  test('property: N with every binary unit equals N times its power of 1024', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), (n) => {
        assert.equal(parseSize(`${n}`), n);
        assert.equal(parseSize(`${n}KiB`), n * KiB);
        assert.equal(parseSize(`${n}MiB`), n * MiB);
        assert.equal(parseSize(`${n}MB`), n * 1_000_000);
      }),
    );
  });

  test('property: any string either parses to a safe non-negative integer or throws ERR_BAD_UNIT', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (s) => {
        try {
          const n = parseSize(s);
          assert.ok(Number.isSafeInteger(n) && n >= 0, `parseSize(${JSON.stringify(s)}) gave ${n}`);
        } catch (err) {
          assert.ok(err instanceof CascadeError, `non-CascadeError for ${JSON.stringify(s)}: ${String(err)}`);
          assert.equal(err.code, 'ERR_BAD_UNIT');
        }
      }),
    );
  });
});

describe('parseRate', () => {
  test('byte units give bytes per second, with or without /s', () => {
    assert.equal(parseRate('12MB'), 12_000_000);
    assert.equal(parseRate('12MB/s'), 12_000_000);
    assert.equal(parseRate('1MiB/s'), MiB);
    assert.equal(parseRate('500kB/s'), 500_000);
    assert.equal(parseRate('1000/s'), 1000);
    assert.equal(parseRate('1000'), 1000);
    assert.equal(parseRate(1000), 1000);
  });

  test('bit units (b or bit, decimal prefixes) are divided by eight: 100Mb is 12.5 MB/s', () => {
    assert.equal(parseRate('100Mb'), 12_500_000);
    assert.equal(parseRate('100Mb/s'), 12_500_000);
    assert.equal(parseRate('100Mbit'), 12_500_000);
    assert.equal(parseRate('100Mbit/s'), 12_500_000);
    assert.equal(parseRate('1Gbit'), 125_000_000);
    assert.equal(parseRate('1Gb'), 125_000_000);
    assert.equal(parseRate('8bit'), 1);
    assert.equal(parseRate('8b'), 1);
    assert.equal(parseRate('64kbit'), 8000);
    assert.equal(parseRate('64kb'), 8000);
  });

  test('b is a bit and B a byte: 100Mb is an eighth of 100MB', () => {
    assert.equal(parseRate('100MB'), 8 * parseRate('100Mb'));
    assert.equal(parseRate('12MB'), 12_000_000);
  });

  test('Bps/bps spellings, K, lower-case prefixes for M and G and binary bits are refused', () => {
    for (const input of ['10MBps', '100Mbps', '1Gbps', '100mb', '100MBIT', '1KB/s', '1Mibit', '10mB', '1G']) {
      assertBadUnit(() => parseRate(input), input);
    }
    assert.throws(() => parseRate('10MBps'), /write \/s, not ps.*accepted: bytes\/s: N, NB/);
  });

  test('the same number in bits is an eighth of the rate in bytes', () => {
    assert.equal(parseRate('800Mbit') * 8, parseRate('800MB'));
    assert.notEqual(parseRate('100Mbit'), parseRate('100MB'));
  });

  test('an unknown rate unit or garbage is refused with ERR_BAD_UNIT', () => {
    for (const input of ['12furlongs', '12MB/h', '12 parsecs/s', 'fast', '', '-1MB', '1e3Mbit', 'Mbit']) {
      assertBadUnit(() => parseRate(input), input);
    }
    for (const input of [-5, 0.5, Number.NaN]) {
      assertBadUnit(() => parseRate(input), input);
    }
  });

  test('property: N Mbit is N × 125000 bytes per second and N MB/s is N × 10^6', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), (n) => {
        assert.equal(parseRate(`${n}Mbit`), n * 125_000);
        assert.equal(parseRate(`${n}MB/s`), n * 1_000_000);
      }),
    );
  });
});

describe('parseDuration', () => {
  test('each unit converts to milliseconds', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('3sec'), 3000);
    assert.equal(parseDuration('20m'), 20 * 60_000);
    assert.equal(parseDuration('2min'), 120_000);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('1d'), 86_400_000);
  });

  test('a bare number means seconds, as a string or a number', () => {
    assert.equal(parseDuration('30'), 30_000);
    assert.equal(parseDuration(2), 2000);
    assert.equal(parseDuration(0.25), 250);
    assert.equal(parseDuration('0'), 0);
  });

  test('m means minutes in a duration; in a size it is refused (MB is megabytes)', () => {
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseSize('5MB'), 5_000_000);
    assertBadUnit(() => parseSize('5m'), '5m');
  });

  test('an unknown unit, a negative duration or garbage is refused with ERR_BAD_UNIT', () => {
    for (const input of ['5y', '5 years', 'ms', '-5s', 'soon', '', '5MiB', '20M', '5S', '1H']) {
      assertBadUnit(() => parseDuration(input), input);
    }
    for (const input of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assertBadUnit(() => parseDuration(input), input);
    }
  });

  test('property: N seconds is N × 1000 ms and N minutes is N × 60000 ms', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (n) => {
        assert.equal(parseDuration(`${n}s`), n * 1000);
        assert.equal(parseDuration(`${n}m`), n * 60_000);
        assert.equal(parseDuration(`${n}ms`), n);
      }),
    );
  });
});

describe('formatBytes', () => {
  test('counts below 1024 are shown in whole bytes', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1), '1 B');
    assert.equal(formatBytes(1023), '1023 B');
  });

  test('larger counts use binary units with one decimal', () => {
    assert.equal(formatBytes(1024), '1.0 KiB');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(268_435_456), '256.0 MiB');
    assert.equal(formatBytes(1.5 * GiB), '1.5 GiB');
    assert.equal(formatBytes(1024 * GiB), '1.0 TiB');
  });

  test('counts past the largest unit stay in TiB', () => {
    assert.equal(formatBytes(2048 * 1024 * GiB), '2048.0 TiB');
  });

  test('property: formatting a parsed binary size shows the same number and unit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1023 }), fc.constantFrom('KiB', 'MiB', 'GiB'), (n, unit) => {
        assert.equal(formatBytes(parseSize(`${n}${unit}`)), `${n}.0 ${unit}`);
      }),
    );
  });
});

describe('formatDuration', () => {
  test('under a minute it shows seconds with one decimal', () => {
    assert.equal(formatDuration(0), '0.0s');
    assert.equal(formatDuration(12_300), '12.3s');
    assert.equal(formatDuration(59_000), '59.0s');
  });

  test('minutes and hours are shown with two-digit fields', () => {
    assert.equal(formatDuration(60_000), '1m00s');
    assert.equal(formatDuration(245_000), '4m05s');
    assert.equal(formatDuration(3_723_000), '1h02m03s');
    assert.equal(formatDuration(36_000_000), '10h00m00s');
  });

  test('a non-finite duration is shown as a dash', () => {
    assert.equal(formatDuration(Number.POSITIVE_INFINITY), '—');
    assert.equal(formatDuration(Number.NaN), '—');
  });
});

describe('formatRate', () => {
  test('bytes per second are shown in decimal megabytes per second', () => {
    assert.equal(formatRate(11_900_000), '11.9 MB/s');
    assert.equal(formatRate(0), '0.0 MB/s');
    assert.equal(formatRate(parseRate('100Mbit')), '12.5 MB/s');
  });
});

test('formatDuration rounds just under a minute up to 1m00s, not 60.0s', () => {
  assert.equal(formatDuration(59_960), '1m00s');
  assert.equal(formatDuration(59_940), '59.9s');
});
