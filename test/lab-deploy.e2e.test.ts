import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { runCascade, tempDir } from './helpers.js';

/**
 * Issue #13, problem 9: deploy/ that works.
 *
 * Behaviour assumed:
 *  - `cascade-seeder@.service` keeps its manifest cache in a folder systemd gives the dynamic user
 *    (`CacheDirectory=cascade-seeder` or a StateDirectory) and tells the seeder where it is
 *    (`Environment=CASCADE_CACHE_DIR=/var/cache/cascade-seeder` or `--cache-dir` in ExecStart);
 *    the image folder is no longer ReadWritePaths.
 *  - `cascade seed --cache-dir DIR` (CASCADE_CACHE_DIR, cascade.cache-dir) is a seeder option,
 *    shown by --show-config; the cache file goes to DIR (packages/seeder/src/cache-location.ts).
 *  - the install steps (deploy/README.md) create /etc/cascade before writing into it.
 *  - every unit passes `systemd-analyze verify` without a warning where systemd-analyze exists.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const units = join(ROOT, 'deploy', 'systemd');
const dir = await tempDir('lab-deploy');

function directives(text: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const x = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (x) m.set(x[1]!, [...(m.get(x[1]!) ?? []), x[2]!]);
  }
  return m;
}

function systemdAnalyze(args: string[]): Promise<{ code: number; stderr: string } | null> {
  return new Promise((resolve) =>
    execFile('systemd-analyze', args, { timeout: 30_000 }, (err, _out, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') return resolve(null);
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr });
    }),
  );
}

describe('problem 9: the shipped deploy/ files', () => {
  test('the seeder unit keeps its manifest cache in a systemd-managed folder and passes it on', async () => {
    const d = directives(await readFile(join(units, 'cascade-seeder@.service'), 'utf8'));
    const cacheDir = d.get('CacheDirectory')?.[0] ?? d.get('StateDirectory')?.[0];
    assert.ok(cacheDir, 'no CacheDirectory= or StateDirectory=');
    assert.doesNotMatch(cacheDir, /^\//, 'CacheDirectory= must be relative');
    const base = d.has('CacheDirectory') ? '/var/cache' : '/var/lib';
    const passed = [...(d.get('Environment') ?? []), ...(d.get('ExecStart') ?? [])].join(' ');
    assert.ok(
      passed.includes(`CASCADE_CACHE_DIR=${base}/${cacheDir}`) ||
        /--cache-dir\s+(\$\{?(CACHE|STATE)_DIRECTORY\}?|\S+)/.test(passed),
      `the seeder is not told where the cache folder is: ${passed}`,
    );
    assert.equal(d.get('DynamicUser')?.[0], 'yes');
    assert.ok(!(d.get('ReadWritePaths') ?? []).some((p) => p.includes('/srv/images')), 'images are writable');
  });

  test('the seeder unit stops restarting on a configuration error, and reads a root-owned image through a group', async () => {
    const d = directives(await readFile(join(units, 'cascade-seeder@.service'), 'utf8'));
    assert.deepEqual(d.get('RestartPreventExitStatus')?.[0]?.split(/\s+/), ['2'], 'exit 2 (bad configuration)');
    assert.ok(Number(d.get('StartLimitBurst')?.[0]) > 0, 'other failures are retried a bounded number of times');
    assert.deepEqual(d.get('SupplementaryGroups'), ['cascade']);
    assert.deepEqual(d.get('ReadOnlyPaths'), ['/srv/images']);
    for (const doc of ['README.md', join('deploy', 'README.md')]) {
      const text = await readFile(join(ROOT, doc), 'utf8');
      assert.match(text, /groupadd --system cascade/, `${doc} creates the group`);
      assert.match(text, /chgrp cascade \/srv\/images\/\S+ && chmod g\+r/, `${doc} gives the image to it`);
    }
  });

  test('cascade seed takes --cache-dir (and CASCADE_CACHE_DIR)', async () => {
    const flag = await runCascade(['seed', 'x.img', '--session', 's', '--cache-dir', '/var/cache/x', '--show-config']);
    assert.equal(flag.code, 0, flag.stderr);
    const s = (JSON.parse(flag.stdout) as { settings: Record<string, unknown> }).settings;
    assert.deepEqual(s['cache-dir'], { value: '/var/cache/x', from: 'flag' });
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CASCADE_')));
    const fromEnv = await runCascade(['seed', 'x.img', '--session', 's', '--show-config'], {
      env: { ...env, CASCADE_CACHE_DIR: '/var/cache/cascade-seeder' },
    });
    assert.match(fromEnv.stdout, /"cache-dir": \{\s*"value": "\/var\/cache\/cascade-seeder",\s*"from": "env"/);
  });

  test('the install steps (deploy/README.md and the README) create /etc/cascade before writing into it', async () => {
    for (const doc of [join('deploy', 'README.md'), 'README.md']) {
      const steps = await readFile(join(ROOT, doc), 'utf8');
      const mkdir = steps.search(/mkdir -p (\S+ )*\/etc\/cascade\b/);
      const write = steps.search(/> ?\/etc\/cascade\//);
      assert.ok(mkdir >= 0, `${doc}: no mkdir -p /etc/cascade`);
      assert.ok(write < 0 || mkdir < write, `${doc}: writes into /etc/cascade before creating it`);
      assert.match(steps, /systemctl daemon-reload/);
    }
  });

  test('systemd-analyze verify accepts every unit without a warning', async (t) => {
    const probe = await systemdAnalyze(['--version']);
    if (!probe) return t.skip('systemd-analyze is not installed');
    const files: string[] = [];
    for (const f of await readdir(units)) {
      const name = f.replace('@.service', '@win11.service'); // a template is verified as an instance
      await copyFile(join(units, f), join(dir, name));
      files.push(join(dir, name));
    }
    const r = await systemdAnalyze(['verify', '--man=no', ...files]);
    assert.ok(r);
    const about = r.stderr.split('\n').filter((l) => files.some((f) => l.includes(f)));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(about, [], 'systemd-analyze complained about a unit');
  });
});
