import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { CASCADE_BIN, exitWithin, writeImage } from '@cascade/cli';
import { buildManifest, ControlClient, encodeError, silentLogger } from '@cascade/common';
import { FaultLab } from './fault-lab.js';
import { peerArgs, tempDir } from './helpers.js';

// Reproduced peer bugs from issue 12, each through the real `cascade` command.

const MiB = 1024 * 1024;
const SIZE = 8 * MiB;

/** Lines on stderr that are not JSON log lines: what a user reads. */
function plainLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
}

/** A TCP listener on `host` (any port), closed after the file. */
async function listener(host: string, onSocket: (s: Socket) => void = () => undefined): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    onSocket(s);
  });
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return server;
}

async function lab(name: string, host: string): Promise<FaultLab> {
  const dir = await tempDir(name);
  const image = join(dir, 'master.img');
  await writeImage(image, { size: SIZE, seed: name, zeros: [] });
  const l = new FaultLab(dir, image, SIZE, 'lab', host);
  await l.startCoordinator(['--ping-interval', '1s']);
  return l;
}

describe('peer bugs of issue 12 (real processes on loopback)', () => {
  test('a serving port already taken: exit 2 (ERR_BAD_CONFIG) naming the address, one line, no stack', async () => {
    const l = await lab('port-taken', '127.0.40.1');
    const taken = await listener('127.0.40.2');
    const address = `127.0.40.2:${(taken.address() as AddressInfo).port}`;
    const seeder = l.startSeeder(['--capacity', '2', '--slice', '1MiB']);
    const peer = spawnCollect(peerArgs(l.url, 'lab', join(l.dir, 't.img'), address, ['--log-format', 'json']));
    const code = await peer.exited;
    assert.equal(code, 2, peer.stderr());
    const lines = plainLines(peer.stderr());
    assert.equal(lines.length, 1, `one line, got:\n${lines.join('\n')}`);
    assert.match(lines[0]!, new RegExp(`${address.replace(/\./g, '\\.')}.*ERR_BAD_CONFIG`));
    assert.doesNotMatch(peer.stderr(), /\n\s+at /, 'no stack trace');
    seeder.proc.kill('SIGTERM');
    await exitWithin(seeder, 10_000);
  });

  test('SIGINT before the coordinator was ever reached: exit 5 (ERR_STOPPED), one line, no stack', async () => {
    const closed = await listener('127.0.40.3');
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const dir = await tempDir('sigint-early');
    const url = `ws://127.0.40.3:${port}`;
    const peer = spawnCollect(peerArgs(url, 'lab', join(dir, 't.img'), '127.0.40.4:0', ['--log-format', 'json']));
    await peer.until(/waiting for the session/, 15_000);
    peer.proc.kill('SIGINT');
    const code = await peer.exited;
    assert.equal(code, 5, peer.stderr());
    const lines = plainLines(peer.stderr());
    assert.equal(lines.length, 1, `one line, got:\n${lines.join('\n')}`);
    assert.match(lines[0]!, /stopped \(SIGINT\).*ERR_STOPPED/);
    assert.doesNotMatch(peer.stderr(), /\n\s+at /, 'no stack trace');
  });

  test('a hostile server answering ERR_TARGET_UNUSABLE does not end its clients: they move on and are imaged byte-exact', async () => {
    const l = await lab('hostile', '127.0.40.5');
    let refused = 0;
    const hostileData = await listener('127.0.40.6', (s) => {
      refused++;
      s.end(encodeError('ERR_TARGET_UNUSABLE', 'your disk is broken (says the server)'));
    });
    // The seeder serves one client at a time, slowly: two peers at once means one of them is
    // offered the hostile server (which one, the test does not care).
    l.startSeeder(['--capacity', '1', '--rate', '4MB/s', '--slice', '1MiB', '--end-count', '2']);
    await l.waitFor('the session open', (s) => s.state !== 'unopened');
    // A second source of the same image (what a coordinator accepts without proof: its clients'
    // reports are what catch a liar) whose data port refuses every client with a remote code.
    const manifest = await buildManifest(l.image, { sliceSize: 1024 * 1024 });
    const hostile = new ControlClient({
      url: l.url,
      logger: silentLogger(),
      hello: { role: 'seeder', id: randomUUID(), name: 'hostile', session: 'lab' },
      onMessage: () => undefined,
      onConnected: () => {
        hostile.send({ type: 'open-session', manifest: { ...manifest }, options: {} });
        hostile.send({
          type: 'serve',
          host: '127.0.40.6',
          port: (hostileData.address() as AddressInfo).port,
          capacity: 4,
        });
      },
    });
    after(() => hostile.close());
    await hostile.start();
    await l.waitFor('the hostile server registered', (s) => s.servers.some((x) => x.name === 'hostile'));
    const peers = [1, 2].map((i) => l.startPeer(i, ['--capacity', '1']));
    for (const p of peers) {
      const r = await l.finish(p);
      assert.equal(r.exit, 0, `${p.name} exit (see ${p.logFile})`);
      assert.ok(r.exact, `${p.name} target is byte-exact`);
      const refusals = (r.report?.transfers ?? []).filter((t) => t.server === 'hostile');
      // Refused (the remote code, never taken as its own), or moved off it by the coordinator first.
      for (const t of refusals) assert.ok(['ERR_SERVER_REFUSED', 'ERR_MOVED'].includes(t.error ?? ''), t.error ?? '');
    }
    assert.ok(refused >= 1, 'the hostile server was tried');
  });
});

/** Spawn `cascade ARGS`, collecting output; killed after 60 s. */
function spawnCollect(args: string[]): {
  proc: ReturnType<typeof spawn>;
  exited: Promise<number>;
  stderr: () => string;
  until: (re: RegExp, ms: number) => Promise<void>;
} {
  const proc = spawn(process.execPath, [CASCADE_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
  const exited = new Promise<number>((resolve) =>
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? 1);
    }),
  );
  const until = async (re: RegExp, ms: number): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!re.test(out + err)) {
      if (Date.now() > deadline) throw new Error(`no ${re} in output: ${out}${err}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return { proc, exited, stderr: () => err, until };
}
