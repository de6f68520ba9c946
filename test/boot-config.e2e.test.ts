import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import { CASCADE_BIN } from '@cascade/cli';
import { guardEnv } from './crash-guard.js';
import { tempDir } from './helpers.js';

const dir = await tempDir('boot-config');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `cascade ARGS` with extra environment (CASCADE_* from the test's own environment removed). */
function cascade(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CASCADE_')));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CASCADE_BIN, ...args],
      { env: guardEnv({ ...base, ...env }), timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function cmdline(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

type Settings = Record<string, { value: unknown; from: string; parsed?: number; unit?: string }>;

async function showConfig(args: string[], env: Record<string, string> = {}): Promise<Settings> {
  const r = await cascade(['peer', ...args, '--show-config'], env);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { settings: Settings }).settings;
}

describe('cascade peer configuration: flags > CASCADE_* > kernel command line > defaults', () => {
  test('each setting comes from the highest source that gives it', async () => {
    const file = await cmdline(
      'all',
      'BOOT_IMAGE=/vmlinuz   cascade.session=cmd-session\tcascade.capacity=7  cascade.rate=50Mbit cascade.target="/dev/disk/by-id/usb 1"\n',
    );
    const s = await showConfig(['--cmdline-file', file, '--session', 'flag-session'], {
      CASCADE_SESSION: 'env-session',
      CASCADE_CAPACITY: '5',
    });
    assert.deepEqual(s.session, { value: 'flag-session', from: 'flag' });
    assert.deepEqual(s.capacity, { value: 5, from: 'env' });
    assert.deepEqual(s.rate, { value: '50Mbit', from: 'cmdline', parsed: 6_250_000, unit: 'B/s' });
    assert.deepEqual(s.target, { value: '/dev/disk/by-id/usb 1', from: 'cmdline' });
    assert.deepEqual(s.window, { value: 8, from: 'default' });
    assert.equal(s.coordinator, undefined, 'no coordinator anywhere: it will be discovered');
  });

  test('odd spacing and quoting on the kernel command line; a flag given as --no-x still wins', async () => {
    const file = await cmdline(
      'odd',
      `\n  "cascade.on-complete=systemctl  reboot"   cascade.reuse\t\tcascade.name='room 12'  cascade.session=a -- cascade.session=init-arg`,
    );
    const s = await showConfig(['--cmdline-file', file, '--no-reuse']);
    assert.deepEqual(s['on-complete'], { value: 'systemctl  reboot', from: 'cmdline' });
    assert.deepEqual(s.name, { value: 'room 12', from: 'cmdline' });
    assert.deepEqual(s.session, { value: 'a', from: 'cmdline' });
    assert.deepEqual(s.reuse, { value: false, from: 'flag' });
  });

  test('a required target given only on the kernel command line satisfies the command', async () => {
    const file = await cmdline('target', 'cascade.target=/tmp/never-written cascade.discovery-port=0');
    const r = await cascade(['peer', '--cmdline-file', file]);
    assert.equal(r.code, 2);
    assert.doesNotMatch(r.stderr, /Missing required argument/);
    assert.match(r.stderr, /cascade\.discovery-port: expected a port 1-65535, got 0 \(ERR_BAD_CONFIG\)/);
  });

  test('boot media can set every peer option: trust, token-file and relay-capacity included', async () => {
    const file = await cmdline(
      'every',
      'cascade.trust=ed25519:AAA,ed25519:BBB cascade.token-file=/etc/cascade/token cascade.relay-capacity=2 ' +
        'cascade.target=/dev/sda cascade.ca=/etc/ca.pem cascade.hash-thread cascade.rate=100Mb',
    );
    const r = await cascade(['peer', '--cmdline-file', file, '--show-config']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /unknown parameter/);
    const s = (JSON.parse(r.stdout) as { settings: Settings }).settings;
    assert.deepEqual(s.trust, { value: ['ed25519:AAA', 'ed25519:BBB'], from: 'cmdline' });
    assert.deepEqual(s['token-file'], { value: '/etc/cascade/token', from: 'cmdline' });
    assert.deepEqual(s['relay-capacity'], { value: 2, from: 'cmdline' });
    assert.deepEqual(s['hash-thread'], { value: true, from: 'cmdline' });
    assert.deepEqual(s.rate, { value: '100Mb', from: 'cmdline', parsed: 12_500_000, unit: 'B/s' });
  });

  test('counts and durations that must be positive are refused from any source', async () => {
    const flag = await cascade(['peer', '--cmdline-file', '/dev/null', '--target', 'x', '--window', '0']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /--window: expected a whole number ≥ 1, got 0 \(ERR_BAD_CONFIG\)/);
    const env = await cascade(['peer', '--cmdline-file', '/dev/null', '--target', 'x'], { CASCADE_STALL: '0s' });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /CASCADE_STALL: must be longer than 0/);
  });

  test('an unknown cascade.* parameter is reported on stderr', async () => {
    const file = await cmdline('typo', 'cascade.sesion=lab cascade.target=/tmp/x');
    const r = await cascade(['peer', '--cmdline-file', file, '--show-config']);
    assert.equal(r.code, 0);
    assert.match(r.stderr, /warning: kernel command line: unknown parameter cascade\.sesion/);
  });

  test("--show-config on the boot media's command line (/run/cascade/cmdline, as the boot script writes it) and on /proc/cmdline: cascade.retry is never unknown", async () => {
    const proc = await cmdline(
      'proc-cmdline',
      'BOOT_IMAGE=/vmlinuz quiet cascade.target=auto cascade.retry=90s cascade.on-complete=reboot cascade.session=lab cascade.rate=100Mbit\n',
    );
    const media = join(dir, 'run-cascade-cmdline');
    const helper = join(fileURLToPath(new URL('..', import.meta.url)), 'scripts/boot-media/boot-helper.mjs');
    await promisify(execFile)(process.execPath, [helper, 'params', proc, media]);
    const r = await cascade(['peer', '--cmdline-file', media, '--target', '/dev/vda', '--show-config']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'no warning');
    const s = (JSON.parse(r.stdout) as { settings: Settings }).settings;
    assert.deepEqual(s.session, { value: 'lab', from: 'cmdline' });
    assert.deepEqual(s.rate, { value: '100Mbit', from: 'cmdline', parsed: 12_500_000, unit: 'B/s' });
    const onProc = await cascade(['peer', '--cmdline-file', proc, '--show-config']);
    assert.equal(onProc.code, 0, onProc.stderr);
    assert.doesNotMatch(onProc.stderr, /unknown parameter cascade\.retry/);
  });

  test('the hidden fault-injection option is a flag only: never read from cascade.fault or CASCADE_FAULT', async () => {
    const file = await cmdline('fault', 'cascade.fault=corrupt-every:1 cascade.target=/tmp/x');
    for (const command of [['peer'], ['seed', 'img', '--session', 'lab']]) {
      const r = await cascade([...command, '--cmdline-file', file, '--show-config'], {
        CASCADE_FAULT: 'corrupt-every:1',
      });
      assert.equal(r.code, 0, r.stderr);
      const s = (JSON.parse(r.stdout) as { settings: Settings }).settings;
      assert.equal(s.fault, undefined, JSON.stringify(s));
      assert.match(r.stderr, /unknown parameter cascade\.fault/);
    }
  });

  test('invalid values exit 2 with one line naming where the value came from', async () => {
    const file = await cmdline('bad', 'cascade.capacity=lots');
    const fromCmdline = await cascade(['peer', '--cmdline-file', file, '--target', 'x']);
    assert.equal(fromCmdline.code, 2);
    assert.match(
      fromCmdline.stderr,
      /kernel command line cascade\.capacity: expected a number, got "lots" \(ERR_BAD_CONFIG\)/,
    );
    const fromEnv = await cascade(['peer', '--cmdline-file', '/dev/null', '--target', 'x'], { CASCADE_STALL: 'soon' });
    assert.equal(fromEnv.code, 2);
    assert.match(fromEnv.stderr, /CASCADE_STALL: .*ERR_BAD_CONFIG/);
  });

  test('the coordinator and the seeder take CASCADE_* settings too', async () => {
    const r = await cascade(['coordinator', '--cmdline-file', '/dev/null', '--show-config'], {
      CASCADE_LISTEN: '127.0.0.1:0',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"listen": \{\s*"value": "127\.0\.0\.1:0",\s*"from": "env"/);
    const s = await cascade(['seed', 'img', '--cmdline-file', '/dev/null', '--show-config'], {
      CASCADE_SESSION: 'lab',
    });
    assert.match(s.stdout, /"session": \{\s*"value": "lab",\s*"from": "env"/);
  });
});
