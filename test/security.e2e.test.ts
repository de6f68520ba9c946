import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exitWithin, spawnRole, startCoordinator, writeImage, type RoleProcess } from '@cascade/cli';
import { buildManifest, ControlClient, silentLogger, signManifest, type Manifest } from '@cascade/common';
import { generateKeyPairSync } from 'node:crypto';
import { peerArgs, runCascade, tempDir } from './helpers.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const { CASCADE_TOKEN: _inherited, ...withoutToken } = process.env;

/** Run `cascade ARGS` with extra environment (no inherited CASCADE_TOKEN). */
const cascade = (args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Run> =>
  runCascade(args, { env: { ...withoutToken, ...env }, timeoutMs });

const TOKEN = 'lab-7-token-0123456789';
const SIZE = 3 * 1024 * 1024 + 99;
const dir = await tempDir('security');
const tokenFile = join(dir, 'token');
const image = join(dir, 'img.bin');

describe('security end to end (real processes on loopback, coordinator with a session token)', () => {
  let coordinator: RoleProcess & { url: string };
  let pub: string;
  let strangerPub: string;
  const roles: RoleProcess[] = [];

  before(async () => {
    await writeFile(tokenFile, `${TOKEN}\n`);
    await writeImage(image, { size: SIZE, seed: 'security' });
    coordinator = await startCoordinator(dir, '127.0.6.1', 0, 'coordinator', ['--token-file', tokenFile]);
    const kg = await cascade(['keygen', '--out', join(dir, 'signer.key')]);
    assert.equal(kg.code, 0, kg.stderr);
    pub = join(dir, 'signer.key.pub');
    const other = await cascade(['keygen', '--out', join(dir, 'stranger.key')]);
    assert.equal(other.code, 0, other.stderr);
    strangerPub = (await readFile(join(dir, 'stranger.key.pub'), 'utf8')).trim();
  });
  after(async () => {
    for (const r of roles) r.proc.kill('SIGTERM');
    coordinator.proc.kill('SIGTERM');
    await exitWithin(coordinator, 5000);
  });

  test('status without the token is refused with ERR_AUTH_REQUIRED; a wrong token with ERR_AUTH_FAILED', async () => {
    const none = await cascade(['status', '--coordinator', coordinator.url]);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /ERR_AUTH_REQUIRED/);
    const wrong = await cascade(['status', '--coordinator', coordinator.url], { CASCADE_TOKEN: 'guess' });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /ERR_AUTH_FAILED/);
    const ok = await cascade(['status', '--coordinator', coordinator.url, '--token-file', tokenFile, '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const res = await fetch(`${coordinator.url.replace('ws:', 'http:')}/status`);
    assert.equal(res.status, 403);
  });

  test('a peer without the token exits 2 with ERR_AUTH_REQUIRED and writes nothing', async () => {
    const target = join(dir, 'no-token.img');
    const r = await cascade(peerArgs(coordinator.url, 'signed', target, '127.0.6.9:0'));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /ERR_AUTH_REQUIRED/);
    assert.equal(existsSync(target), false);
  });

  test('a signed sha256 session: a peer trusting another key exits 4 and writes 0 bytes; one trusting the signer is imaged byte-exact', async () => {
    const seeder = spawnRole(
      'seeder-signed',
      ['seed', image, '--coordinator', coordinator.url, '--session', 'signed', '--listen', '127.0.6.2:0']
        // Ends when the trusted peer is imaged (a --linger could end it before that peer even
        // connects on a loaded machine).
        .concat(['--slice', '1MiB', '--end-count', '1', '--token-file', tokenFile])
        .concat(['--sign-key', join(dir, 'signer.key'), '--digest', 'sha256']),
      dir,
    );
    roles.push(seeder);
    const untrusted = join(dir, 'untrusted.img');
    const refused = await cascade(
      peerArgs(coordinator.url, 'signed', untrusted, '127.0.6.3:0', ['--trust', strangerPub]),
      {
        CASCADE_TOKEN: TOKEN,
      },
    );
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /ERR_MANIFEST_KEY_UNTRUSTED/);
    assert.equal(existsSync(untrusted), false, 'the refused peer did not even create its target');

    const target = join(dir, 'trusted.img');
    const ok = await cascade(peerArgs(coordinator.url, 'signed', target, '127.0.6.4:0', ['--trust', pub]), {
      CASCADE_TOKEN: TOKEN,
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok((await readFile(target)).equals(await readFile(image)), 'target is byte-exact');
    assert.equal(await exitWithin(seeder, 20_000), 0);
  });

  test('an unsigned session is refused by a peer with --trust: exit 4, ERR_MANIFEST_UNSIGNED, 0 bytes', async () => {
    const seeder = spawnRole(
      'seeder-unsigned',
      ['seed', image, '--coordinator', coordinator.url, '--session', 'unsigned', '--listen', '127.0.6.5:0'].concat([
        '--slice',
        '1MiB',
        '--token-file',
        tokenFile,
      ]),
      dir,
    );
    roles.push(seeder);
    const target = join(dir, 'unsigned.img');
    const r = await cascade(peerArgs(coordinator.url, 'unsigned', target, '127.0.6.6:0', ['--trust', pub]), {
      CASCADE_TOKEN: TOKEN,
    });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /ERR_MANIFEST_UNSIGNED/);
    assert.equal(existsSync(target), false);
    const end = await cascade(['end', 'unsigned', '--coordinator', coordinator.url, '--token-file', tokenFile]);
    assert.equal(end.code, 0, end.stderr);
    assert.equal(await exitWithin(seeder, 20_000), 0);
  });

  test('a session whose manifest carries a forged signature is refused: exit 4, ERR_MANIFEST_SIGNATURE_INVALID, 0 bytes', async () => {
    // A rogue seeder (it knows the token) announces the real image with the signer's key id but a bad signature.
    const signer = await readFile(join(dir, 'signer.key'), 'utf8');
    const real: Manifest = await buildManifest(image, { sliceSize: 1024 * 1024 });
    const { privateKey } = generateKeyPairSync('ed25519');
    const byStranger = signManifest(real, privateKey).signature!;
    const genuineKey = signManifest(real, (await import('node:crypto')).createPrivateKey(signer)).signature!.key;
    const forged = { ...real, signature: { ...byStranger, key: genuineKey } };
    const rogue = new ControlClient({
      url: coordinator.url,
      logger: silentLogger(),
      token: Buffer.from(TOKEN),
      reconnect: false,
      hello: { role: 'seeder', id: 'rogue', name: 'rogue', session: 'forged' },
      onMessage: () => undefined,
    });
    await rogue.start();
    rogue.send({ type: 'open-session', manifest: { ...forged }, options: {} });
    const target = join(dir, 'forged.img');
    const r = await cascade(peerArgs(coordinator.url, 'forged', target, '127.0.6.7:0', ['--trust', pub]), {
      CASCADE_TOKEN: TOKEN,
    });
    void rogue.close();
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /ERR_MANIFEST_SIGNATURE_INVALID/);
    assert.equal(existsSync(target), false);
  });
});
