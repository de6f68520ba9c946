/**
 * Run inside the lab's host 0: serves the image over HTTP (`GET /image`) for the fan-out baseline
 * and a BitTorrent tracker (`GET /announce`) for the swarm baseline.
 *
 *   node --import tsx bench/lab/file-server.ts IMAGE HOST [RATE_BYTES_PER_S]
 *
 * Prints "port N" once listening and "announce IP EVENT" for each tracker announce. With a rate,
 * the whole server's uplink is capped (the fallback lab without namespaces).
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RateLimiter } from '@cascade/common';
import { Tracker } from './tracker.js';

const [image, host, rateArg] = process.argv.slice(2);
if (!image || !host) {
  process.stderr.write('usage: file-server.ts IMAGE HOST [RATE_BYTES_PER_S]\n');
  process.exit(2);
}
const size = statSync(image).size;
const limiter = rateArg ? new RateLimiter(Number(rateArg)) : null;
const tracker = new Tracker((ip, event) => process.stdout.write(`announce ${ip} ${event}\n`));

async function sendImage(res: ServerResponse): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
  const stream = createReadStream(image!, { highWaterMark: 256 * 1024 });
  for await (const chunk of stream) {
    if (limiter) await limiter.take((chunk as Buffer).length);
    if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
    if (res.destroyed) return;
  }
  res.end();
}

const server = createServer((req, res) => {
  if (req.url?.startsWith('/announce')) return tracker.handle(req, res);
  if (req.url === '/image') return void sendImage(res).catch(() => res.destroy());
  res.statusCode = 404;
  res.end();
});
server.listen(0, host, () => process.stdout.write(`port ${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => process.exit(0));
