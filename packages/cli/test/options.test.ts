import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CascadeError, cascadeParams, parseKernelCmdline, resolveConfig } from '@cascade/common';
import { applyConfigSources, describeConfig, rawFlagText } from '../src/config-sources.js';
import { COORDINATOR_OPTIONS } from '../src/options/coordinator-options.js';
import { OPERATOR_OPTIONS } from '../src/options/operator-options.js';
import { parsedValue, sourceKeys, type OptionTable } from '../src/options/option-table.js';
import { PEER_OPTIONS } from '../src/options/peer-options.js';
import { SEED_OPTIONS } from '../src/options/seed-options.js';
import { GATING_OPTIONS } from '../src/options/shared-options.js';

const tables: Record<string, OptionTable> = {
  peer: PEER_OPTIONS,
  seed: SEED_OPTIONS,
  coordinator: COORDINATOR_OPTIONS,
  set: [...OPERATOR_OPTIONS, ...GATING_OPTIONS],
};

/** A valid text for each option of the peer table, as boot media would write it. */
const SAMPLE: Record<string, string> = {
  coordinator: 'ws://10.0.0.1:7770',
  listen: '0.0.0.0:7780',
  rate: '100Mb',
  stall: '10s',
  'min-rate': '32KiB/s',
  'connect-timeout': '3s',
  advertise: '10.0.0.5:7000',
  'discovery-timeout': '1m',
  'discovery-port': '7771',
  'log-level': 'debug',
  'log-format': 'json',
  trust: 'ed25519:AAA,ed25519:BBB',
};

function assertBadConfig(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CascadeError, String(err));
    assert.equal(err.code, 'ERR_BAD_CONFIG');
    assert.match(err.message, pattern);
    return true;
  });
}

describe('option tables', () => {
  test('each table names each option once, and every option says what it does', () => {
    for (const [role, table] of Object.entries(tables)) {
      const names = table.map((o) => o.name);
      assert.equal(new Set(names).size, names.length, `${role}: ${names.join(' ')}`);
      for (const o of table) assert.ok(o.describe.length > 3, `${role} --${o.name}`);
    }
  });

  test('every peer option but the flag-only ones (--fault) can be set on the kernel command line (boot media) without a warning', () => {
    const sourced = PEER_OPTIONS.filter((o) => !('flagOnly' in o && o.flagOnly));
    assert.ok(sourced.length < PEER_OPTIONS.length, 'fault is a flag only');
    const words = sourced.map((o) => {
      const v = SAMPLE[o.name] ?? (o.kind === 'number' ? '2' : o.kind === 'boolean' ? 'yes' : `v-${o.name}`);
      return `cascade.${o.name}=${v}`;
    });
    const cmdline = cascadeParams(parseKernelCmdline(words.join(' ')));
    const r = resolveConfig(sourceKeys(PEER_OPTIONS), { flags: {}, env: {}, cmdline, defaults: {} });
    assert.deepEqual(r.warnings, []);
    for (const o of sourced) assert.equal(r.origins[o.name], 'cmdline', o.name);
    for (const name of ['trust', 'token-file', 'relay-capacity']) assert.ok(r.values[name] !== undefined, name);
    assert.deepEqual(r.values.trust, ['ed25519:AAA', 'ed25519:BBB']);
  });

  test('--show-config shows a rate as given and in bytes per second', () => {
    const keys = sourceKeys(PEER_OPTIONS);
    const argv: Record<string, unknown> = { rate: '100Mb', stall: '30s', target: 'x' };
    const r = applyConfigSources(argv, keys, ['--rate', '100Mb', '--target', 'x'], {}, new Map());
    const shown = JSON.parse(describeConfig(r, keys)) as {
      settings: Record<string, { value: unknown; from: string; parsed?: number; unit?: string }>;
    };
    assert.deepEqual(shown.settings.rate, { value: '100Mb', from: 'flag', parsed: 12_500_000, unit: 'B/s' });
    assert.deepEqual(shown.settings.stall, { value: '30s', from: 'default', parsed: 30_000, unit: 'ms' });
  });
});

describe('option checks', () => {
  const check = (table: OptionTable, argv: Record<string, unknown>, args: string[]): void =>
    void applyConfigSources(argv, sourceKeys(table), args, {}, new Map());

  test('a number flag given text is a usage error naming the text (cascade set --start-count abc)', () => {
    const set = tables.set!;
    assertBadConfig(
      () => check(set, { 'start-count': NaN }, ['x', '--start-count', 'abc']),
      /--start-count: expected a number, got "abc"/,
    );
    assertBadConfig(() => check(set, { 'start-count': 0 }, ['--start-count', '0']), /--start-count: .*≥ 1, got 0/);
    assertBadConfig(() => check(set, { linger: 'soon' }, ['--linger', 'soon']), /--linger: .*"soon"/);
  });

  test('counts and durations that must be positive are refused; a peer may serve nobody', () => {
    for (const [flag, value] of [
      ['window', 0],
      ['stall', '0'],
      ['stall', '0ms'],
      ['capacity', -1],
      ['relay-capacity', 1.5],
      ['rate', '0Mb'],
    ] as const) {
      assertBadConfig(
        () => check(PEER_OPTIONS, { [flag]: value }, [`--${flag}`, String(value)]),
        new RegExp(`--${flag}`),
      );
    }
    check(PEER_OPTIONS, { capacity: 0 }, ['--capacity', '0']); // image only: documented
    assertBadConfig(() => check(SEED_OPTIONS, { capacity: 0 }, ['--capacity', '0']), /--capacity/);
    assertBadConfig(() => check(COORDINATOR_OPTIONS, { 'hello-timeout': '0' }, ['--hello-timeout', '0']), /longer/);
  });

  test('units are checked where the value comes from: 10MBps and 8G are refused with the accepted forms', () => {
    assertBadConfig(() => check(PEER_OPTIONS, { rate: '10MBps' }, ['--rate', '10MBps']), /--rate: .*accepted: /);
    assertBadConfig(() => check(SEED_OPTIONS, { slice: '8G' }, ['--slice', '8G']), /--slice: .*accepted: /);
  });

  test('choices hold for the environment as for flags', () => {
    const keys = sourceKeys(SEED_OPTIONS);
    assertBadConfig(
      () => applyConfigSources({}, keys, [], { CASCADE_DIGEST: 'crc32' }, new Map()),
      /CASCADE_DIGEST: expected one of/,
    );
  });

  test('cascade seed --capacity has no fixed default (the seeder picks 1 for --relay, 2 otherwise); a given one is kept', () => {
    const keys = sourceKeys(SEED_OPTIONS);
    const spec = SEED_OPTIONS.find((o) => o.name === 'capacity');
    assert.equal(spec && 'default' in spec ? spec.default : undefined, undefined);
    const none = applyConfigSources({ relay: true }, keys, ['--relay'], {}, new Map());
    assert.equal(none.values.capacity, undefined);
    const given = applyConfigSources({ relay: true }, keys, ['--relay'], { CASCADE_CAPACITY: '3' }, new Map());
    assert.equal(given.values.capacity, 3);
  });

  test('rawFlagText finds --x v and --x=v, the last one winning, up to --', () => {
    assert.equal(rawFlagText(['--a', '1', '--a=2'], 'a'), '2');
    assert.equal(rawFlagText(['--ab', '1'], 'a'), undefined);
    assert.equal(rawFlagText(['--', '--a', '1'], 'a'), undefined);
  });
});

describe('parsed values', () => {
  test("a handler takes a unit-carrying option's number from the table's own parser", () => {
    assert.equal(parsedValue(PEER_OPTIONS, 'stall', '30s'), 30_000);
    assert.equal(parsedValue(PEER_OPTIONS, 'connect-timeout', '5s'), 5000);
    assert.equal(parsedValue(PEER_OPTIONS, 'min-rate', '64KiB/s'), 64 * 1024);
    assert.equal(parsedValue(PEER_OPTIONS, 'rate', '100Mbit'), 12_500_000);
  });

  test('an option without a parser is a bug, not a value', () => {
    assert.throws(() => parsedValue(PEER_OPTIONS, 'target', '/dev/sda'), { code: 'ERR_INTERNAL' });
  });
});
