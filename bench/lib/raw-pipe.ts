/**
 * The baseline of the single-stream benchmark: the same bytes over a plain TCP connection, no
 * framing, no hashing, written to the same kind of target with positional writes of one slice.
 *
 *   node --import tsx bench/lib/raw-pipe.ts serve FILE HOST        prints "port N", serves each connection the file
 *   node --import tsx bench/lib/raw-pipe.ts fetch HOST PORT TARGET SIZE CHUNK [md5] [flush]
 *                                                                   prints {"ms": …, "syncMs": …} from connect to last write synced, and of it the fsync
 *
 * With `flush`, the target is flushed as it is written (an fdatasync every 64 MiB, one at a time,
 * as a cascade peer does), not only by the fsync at the end.
 * With `md5`, the receiver also hashes every CHUNK (inline, before writing it): the cost of
 * verifying alone, without cascade's framing, threads or protocol — a bound for any verified path.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';

async function serve(file: string, host: string): Promise<void> {
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    createReadStream(file, { highWaterMark: 4 * 1024 * 1024 }).pipe(socket);
  });
  server.listen(0, host, () => process.stdout.write(`port ${(server.address() as AddressInfo).port}\n`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

async function fetchTo(
  host: string,
  port: number,
  target: string,
  size: number,
  chunk: number,
  md5: boolean,
  flushEvery: number,
): Promise<void> {
  // An existing target is written in place (as cascade's peer does), a missing one created.
  const fh = await open(target, 'r+').catch(() => open(target, 'w'));
  const t0 = performance.now();
  let buf = Buffer.allocUnsafe(chunk);
  let fill = 0;
  let pos = 0;
  let pending = 0;
  const writes: Promise<unknown>[] = [];
  // With flushEvery, an fdatasync starts each time that many more bytes are written (one at a
  // time), as cascade's peer flushes its target; else the one fsync at the end flushes everything.
  let dirty = 0;
  let flushing: Promise<void> | null = null;
  const wrote = (n: number): void => {
    dirty += n;
    if (flushEvery <= 0 || dirty < flushEvery || flushing) return;
    dirty = 0;
    flushing = fh.datasync().finally(() => (flushing = null));
    writes.push(flushing);
  };
  const socket = connect({ host, port });
  const flush = (): void => {
    const data = buf.subarray(0, fill);
    if (md5) createHash('md5').update(data).digest('hex');
    pending++;
    if (pending >= 4) socket.pause();
    writes.push(
      fh.write(data, 0, data.length, pos).then(() => {
        wrote(data.length);
        if (--pending < 4) socket.resume();
      }),
    );
    pos += fill;
    buf = Buffer.allocUnsafe(chunk);
    fill = 0;
  };
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (d: Buffer) => {
      let off = 0;
      while (off < d.length) {
        const n = Math.min(chunk - fill, d.length - off);
        d.copy(buf, fill, off, off + n);
        fill += n;
        off += n;
        if (fill === chunk) flush();
      }
    });
    socket.on('end', () => {
      if (fill > 0) flush();
      resolve();
    });
    socket.on('error', reject);
  });
  await Promise.all(writes);
  const t1 = performance.now();
  await fh.sync();
  await fh.close();
  const ms = performance.now() - t0;
  if (pos !== size) throw new Error(`received ${pos} bytes, expected ${size}`);
  process.stdout.write(`${JSON.stringify({ ms, bytes: pos, syncMs: ms - (t1 - t0) })}\n`);
}

const [mode, ...a] = process.argv.slice(2);
const flags = a.slice(5);
if (mode === 'serve') await serve(a[0]!, a[1]!);
else if (mode === 'fetch')
  await fetchTo(
    a[0]!,
    Number(a[1]),
    a[2]!,
    Number(a[3]),
    Number(a[4]),
    flags.includes('md5'),
    flags.includes('flush') ? 64 * 2 ** 20 : 0,
  );
else {
  process.stderr.write('usage: raw-pipe.ts serve FILE HOST | fetch HOST PORT TARGET SIZE CHUNK [md5] [flush]\n');
  process.exitCode = 2;
}
