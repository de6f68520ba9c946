import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cascadeParams, parseKernelCmdline } from '../src/config/kernel-cmdline.js';

/** The cascade.* parameters of a command line, as a plain object. */
const cascadeOf = (line: string): Record<string, string | null> =>
  Object.fromEntries(cascadeParams(parseKernelCmdline(line)));

describe('parseKernelCmdline', () => {
  test('splits words on any run of spaces, tabs and newlines, leading and trailing too', () => {
    const line = '  quiet\tcascade.session=lab-a    cascade.target=/dev/sda \n';
    assert.deepEqual(parseKernelCmdline(line), [
      { key: 'quiet', value: null },
      { key: 'cascade.session', value: 'lab-a' },
      { key: 'cascade.target', value: '/dev/sda' },
    ]);
  });

  test('double quotes around the value or around the whole word keep spaces and are removed', () => {
    assert.deepEqual(cascadeOf('cascade.on-complete="systemctl reboot" "cascade.name=room 12" x'), {
      'on-complete': 'systemctl reboot',
      name: 'room 12',
    });
  });

  test('single quotes group too, quotes in the middle of a word join its parts, "=" in a value is kept', () => {
    assert.deepEqual(cascadeOf(`cascade.on-complete='echo a=b' cascade.session=lab"  "b cascade.x=a=b`), {
      'on-complete': 'echo a=b',
      session: 'lab  b',
      x: 'a=b',
    });
  });

  test('a quote of the other kind inside quotes is plain text', () => {
    assert.deepEqual(cascadeOf(`cascade.on-complete="echo 'done'"`), { 'on-complete': "echo 'done'" });
  });

  test('an unterminated quote runs to the end of the line', () => {
    assert.deepEqual(cascadeOf('cascade.session="lab a   cascade.target=/dev/sdb'), {
      session: 'lab a   cascade.target=/dev/sdb',
    });
  });

  test('a bare -- ends the kernel parameters; a quoted "--" does not', () => {
    assert.deepEqual(cascadeOf('cascade.session=a -- cascade.target=/dev/sdb'), { session: 'a' });
    assert.deepEqual(cascadeOf('"--" cascade.session=a'), { session: 'a' });
  });

  test('a bare parameter has a null value, an empty value is the empty string, later words win', () => {
    assert.deepEqual(cascadeOf('cascade.reuse cascade.session= cascade.capacity=1 cascade.capacity=4'), {
      reuse: null,
      session: '',
      capacity: '4',
    });
  });

  test('words that name nothing ("=x", "", the bare prefix) are dropped', () => {
    assert.deepEqual(parseKernelCmdline('=x "" cascade. cascade.=1 a'), [
      { key: 'cascade.', value: null },
      { key: 'cascade.', value: '1' },
      { key: 'a', value: null },
    ]);
    assert.deepEqual(cascadeOf('=x "" cascade. cascade.=1 a'), {});
  });

  test('an empty or all-space line has no parameters', () => {
    assert.deepEqual(parseKernelCmdline(''), []);
    assert.deepEqual(parseKernelCmdline(' \t\n '), []);
  });

  test('never throws, and no parameter key is empty or holds unquoted whitespace', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '=', ' ', '\t', '"', "'", '-', '.', 'c') }), (line) => {
        for (const p of parseKernelCmdline(line)) assert.ok(p.key.length > 0);
      }),
    );
  });

  test('the real shape of /proc/cmdline: init arguments after -- are not parameters', () => {
    const line =
      'console=ttyS0 quiet cascade.coordinator=ws://10.0.0.1:7770 rdinit=/init -- --addr 0.0.0.0 cascade.session=x\n';
    assert.deepEqual(cascadeOf(line), { coordinator: 'ws://10.0.0.1:7770' });
  });
});
