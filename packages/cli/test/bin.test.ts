import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

const LAUNCHER = new URL('../bin/cascade.js', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
};

/** Run the `cascade` launcher (what npm links) with CASCADE_* variables cleared. */
function cascade(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CASCADE_')));
  return new Promise((resolve) => {
    execFile(process.execPath, [LAUNCHER.pathname, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('the cascade command', () => {
  test('the bin npm links is the committed launcher, not a built file', () => {
    assert.equal(pkg.bin.cascade, './bin/cascade.js');
  });

  test('--version prints the version from package.json', async () => {
    const r = await cascade(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), pkg.version);
  });

  test('cascade set NAME --start-count abc is a usage error (exit 2, one line), before any connection', async () => {
    const r = await cascade(['set', 'lab', '--coordinator', 'ws://127.0.9.1:1', '--start-count', 'abc']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'cascade: --start-count: expected a number, got "abc" (ERR_BAD_CONFIG)\n');
  });

  test('a typo in an option gets a "did you mean" (exit 2)', async () => {
    const r = await cascade(['seed', 'img', '--sesion', 'lab', '--coordinator', 'ws://127.0.9.1:1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^cascade: Unknown argument: sesion \(--sesion: did you mean --session\?\)\n/);
    const peer = await cascade(['peer', '--cmdline-file', '/dev/null', '--tagret', 'x']);
    assert.equal(peer.code, 2);
    assert.match(peer.stderr, /--tagret: did you mean --target\?/);
  });

  test('a rate spelled 10MBps is refused with the accepted forms (exit 2)', async () => {
    const r = await cascade(['peer', '--cmdline-file', '/dev/null', '--target', 'x', '--rate', '10MBps']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^cascade: --rate: .*accepted: bytes\/s: N, NB.*\(ERR_BAD_CONFIG\)\n$/);
  });

  test('--rate 100Mb is 12,500,000 bytes per second', async () => {
    const r = await cascade([
      'peer',
      '--cmdline-file',
      '/dev/null',
      '--target',
      'x',
      '--rate',
      '100Mb',
      '--show-config',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { settings: Record<string, { parsed?: number; unit?: string }> };
    assert.equal(s.settings.rate?.parsed, 12_500_000);
    assert.equal(s.settings.rate?.unit, 'B/s');
  });
});
