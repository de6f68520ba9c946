import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import {
  CascadeError,
  decodeDiscoverReply,
  DISCOVERY_PORT,
  DISCOVERY_VERSION,
  encodeDiscovery,
  ipv4Subnets,
  type Logger,
} from '@cascade/common';

export interface DiscoverOptions {
  logger: Logger;
  port?: number;
  /** Addresses to send to (default: the directed broadcast address of every local IPv4 subnet). */
  targets?: string[];
  session?: string;
  /** Give up after this long (ERR_DISCOVERY_FAILED). */
  timeoutMs: number;
  /** First wait for an answer; doubles each round up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

export interface Discovered {
  url: string;
  /** The address the answer came from. */
  from: string;
}

/** The waits between rounds: initial, doubling, capped, summing to at most `timeoutMs`. */
export function backoffSchedule(initialMs: number, maxMs: number, timeoutMs: number): number[] {
  const out: number[] = [];
  let total = 0;
  let d = initialMs;
  while (total < timeoutMs && out.length < 10_000) {
    const step = Math.min(d, maxMs, timeoutMs - total);
    out.push(step);
    total += step;
    d *= 2;
  }
  return out;
}

/**
 * Find a coordinator by UDP broadcast on the local subnets: send a `discover` datagram, wait,
 * send again with backoff, until a valid answer carrying our nonce arrives or time runs out.
 */
export async function discoverCoordinator(opts: DiscoverOptions): Promise<Discovered> {
  const log = opts.logger.child({ component: 'discovery' });
  const port = opts.port ?? DISCOVERY_PORT;
  const targets = opts.targets ?? ipv4Subnets().map((s) => s.broadcast);
  if (targets.length === 0)
    throw new CascadeError('ERR_DISCOVERY_FAILED', 'no IPv4 network to broadcast on; give --coordinator URL');
  const nonce = randomBytes(8).toString('hex');
  const request = encodeDiscovery({
    cascade: 'discover',
    v: DISCOVERY_VERSION,
    nonce,
    ...(opts.session ? { session: opts.session } : {}),
  });
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => resolve());
    });
    socket.setBroadcast(true);
    return await searchRounds(socket, request, nonce, targets, port, opts, log);
  } finally {
    socket.close();
  }
}

async function searchRounds(
  socket: Socket,
  request: Buffer,
  nonce: string,
  targets: string[],
  port: number,
  opts: DiscoverOptions,
  log: Logger,
): Promise<Discovered> {
  let found: ((d: Discovered) => void) | null = null;
  const answer = new Promise<Discovered>((resolve) => (found = resolve));
  socket.on('message', (buf, rinfo) => {
    try {
      const reply = decodeDiscoverReply(buf);
      if (reply.nonce === nonce && reply.v === DISCOVERY_VERSION) found?.({ url: reply.url, from: rinfo.address });
    } catch {
      log.debug({ from: rinfo.address }, 'junk datagram while searching');
    }
  });
  socket.on('error', (err) => log.warn({ err }, 'discovery socket error'));
  const schedule = backoffSchedule(opts.initialDelayMs ?? 500, opts.maxDelayMs ?? 8000, opts.timeoutMs);
  for (const [round, waitMs] of schedule.entries()) {
    for (const t of targets)
      socket.send(request, port, t, (err) => err && log.debug({ err, target: t }, 'send failed'));
    log.info({ attempt: round + 1, targets, port, nextInMs: waitMs }, 'searching for a coordinator by UDP broadcast');
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([answer, new Promise<null>((r) => (timer = setTimeout(() => r(null), waitMs)))]);
    clearTimeout(timer);
    if (result) {
      log.info({ url: result.url, from: result.from }, 'coordinator found');
      return result;
    }
  }
  throw new CascadeError(
    'ERR_DISCOVERY_FAILED',
    `no coordinator answered on UDP port ${port} (sent to ${targets.join(', ')}) within ${Math.round(opts.timeoutMs / 1000)} s; give --coordinator URL`,
  );
}
