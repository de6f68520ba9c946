import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CascadeError } from '../src/errors.js';
import { parseRate } from '../src/units.js';
import { cascadeParams, parseKernelCmdline } from '../src/config/kernel-cmdline.js';
import { envName, resolveConfig, type ConfigKey, type ConfigLayers } from '../src/config/sources.js';

const keys: ConfigKey[] = [
  { name: 'session', kind: 'string' },
  { name: 'capacity', kind: 'number' },
  { name: 'reuse', kind: 'boolean' },
  { name: 'on-complete', kind: 'string' },
  { name: 'rate', kind: 'string', check: (v) => void parseRate(v) },
];

function layers(over: Partial<ConfigLayers> & { line?: string }): ConfigLayers {
  return {
    flags: over.flags ?? {},
    env: over.env ?? {},
    cmdline: cascadeParams(parseKernelCmdline(over.line ?? '')),
    defaults: over.defaults ?? {},
  };
}

function assertBadConfig(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CascadeError);
    assert.equal(err.code, 'ERR_BAD_CONFIG');
    assert.match(err.message, pattern);
    return true;
  });
}

describe('resolveConfig: flags > environment > kernel command line > defaults', () => {
  const all = {
    flags: { session: 'from-flag' },
    env: { CASCADE_SESSION: 'from-env' },
    line: 'cascade.session=from-cmdline',
    defaults: { session: 'from-default' },
  };

  test('a flag beats the other three', () => {
    const r = resolveConfig(keys, layers(all));
    assert.equal(r.values.session, 'from-flag');
    assert.equal(r.origins.session, 'flag');
  });

  test('without the flag, the environment beats the command line and the default', () => {
    const r = resolveConfig(keys, layers({ ...all, flags: {} }));
    assert.equal(r.values.session, 'from-env');
    assert.equal(r.origins.session, 'env');
  });

  test('without flag and environment, the kernel command line beats the default', () => {
    const r = resolveConfig(keys, layers({ ...all, flags: {}, env: {} }));
    assert.equal(r.values.session, 'from-cmdline');
    assert.equal(r.origins.session, 'cmdline');
  });

  test('with nothing else, the default; with no default either, nothing', () => {
    const r = resolveConfig(keys, layers({ defaults: { session: 'from-default' } }));
    assert.deepEqual(r.values, { session: 'from-default' });
    assert.deepEqual(r.origins, { session: 'default' });
  });

  test('each key is resolved on its own', () => {
    const r = resolveConfig(
      keys,
      layers({
        flags: { capacity: 1 },
        env: { CASCADE_REUSE: 'yes', CASCADE_CAPACITY: '9' },
        line: 'cascade.session=s cascade.capacity=7 cascade.on_complete="systemctl reboot"',
        defaults: { capacity: 3, reuse: false },
      }),
    );
    assert.deepEqual(r.values, { session: 's', capacity: 1, reuse: true, 'on-complete': 'systemctl reboot' });
    assert.deepEqual(r.origins, { session: 'cmdline', capacity: 'flag', reuse: 'env', 'on-complete': 'cmdline' });
  });

  test('an empty environment variable counts as unset', () => {
    const r = resolveConfig(keys, layers({ env: { CASCADE_SESSION: '' }, line: 'cascade.session=k' }));
    assert.equal(r.values.session, 'k');
  });

  test('numbers and booleans are read from text; a bare kernel flag is true', () => {
    const r = resolveConfig(keys, layers({ env: { CASCADE_CAPACITY: ' 5 ' }, line: 'cascade.reuse' }));
    assert.deepEqual(r.values, { capacity: 5, reuse: true });
    const off = resolveConfig(keys, layers({ line: 'cascade.reuse=OFF' }));
    assert.equal(off.values.reuse, false);
  });

  test('unknown cascade.* parameters are reported as warnings; other kernel parameters are not', () => {
    const r = resolveConfig(keys, layers({ line: 'quiet root=/dev/sda1 cascade.sesion=typo cascade.session=a' }));
    assert.equal(r.values.session, 'a');
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0]!, /unknown parameter cascade\.sesion/);
  });

  test('invalid values are ERR_BAD_CONFIG naming the source they came from', () => {
    assertBadConfig(() => resolveConfig(keys, layers({ env: { CASCADE_CAPACITY: 'many' } })), /CASCADE_CAPACITY.*many/);
    assertBadConfig(() => resolveConfig(keys, layers({ line: 'cascade.reuse=perhaps' })), /cascade\.reuse.*perhaps/);
    assertBadConfig(() => resolveConfig(keys, layers({ line: 'cascade.session' })), /cascade\.session: needs a value/);
    assertBadConfig(() => resolveConfig(keys, layers({ line: 'cascade.rate=fast' })), /cascade\.rate/);
    assertBadConfig(() => resolveConfig(keys, layers({ flags: { capacity: NaN } })), /--capacity/);
    assertBadConfig(() => resolveConfig(keys, layers({ flags: { rate: '12 parsecs' } })), /--rate/);
  });

  test('an invalid value in a lower source is not read when a higher one is set', () => {
    const r = resolveConfig(keys, layers({ flags: { capacity: 2 }, env: { CASCADE_CAPACITY: 'many' } }));
    assert.equal(r.values.capacity, 2);
  });

  test('envName maps dashes to underscores', () => {
    assert.equal(envName('on-complete'), 'CASCADE_ON_COMPLETE');
  });
});
