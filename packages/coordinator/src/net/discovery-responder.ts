import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import {
  decodeDiscoverRequest,
  DISCOVERY_VERSION,
  encodeDiscovery,
  ipv4Subnets,
  isCascadeError,
  subnetContaining,
  type Ipv4Subnet,
  type Logger,
} from '@cascade/common';

export interface DiscoveryResponderOptions {
  logger: Logger;
  /** UDP address to bind; a wildcard (0.0.0.0) is needed to hear broadcasts on Linux. */
  host: string;
  port: number;
  /** The coordinator's control port, for URLs built from the requester's subnet. */
  controlPort: number;
  /** Answer with this URL instead of one built from the local address on the requester's subnet. */
  url?: string;
  /** Local subnets (default: read from the host's interfaces at each request). */
  subnets?: () => Ipv4Subnet[];
  /** Replies sent per second at most (a flood of requests is not echoed back at full rate). */
  maxRepliesPerSecond?: number;
}

/**
 * Answers peers' `discover` broadcasts with the coordinator's ws URL. Junk datagrams (bad JSON,
 * wrong shape, oversize, another version) are counted and dropped, never fatal.
 */
export class DiscoveryResponder {
  private readonly log: Logger;
  private socket: Socket | null = null;
  private windowStart = 0;
  private repliesInWindow = 0;
  dropped = 0;
  answered = 0;

  constructor(private readonly opts: DiscoveryResponderOptions) {
    this.log = opts.logger.child({ component: 'discovery' });
  }

  async start(): Promise<{ host: string; port: number }> {
    const socket = createSocket({ type: 'udp4', reuseAddr: false });
    this.socket = socket;
    socket.on('message', (buf, rinfo) => this.onDatagram(buf, rinfo));
    socket.on('error', (err) => this.log.error({ err }, 'discovery socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.opts.port, this.opts.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const a = socket.address();
    this.log.info({ host: a.address, port: a.port }, 'answering discovery broadcasts');
    return { host: a.address, port: a.port };
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** The URL a requester at `ip` should use, or null when no local address shares its subnet. */
  urlFor(ip: string): string | null {
    if (this.opts.url) return this.opts.url;
    const subnet = subnetContaining((this.opts.subnets ?? ipv4Subnets)(), ip);
    return subnet ? `ws://${subnet.address}:${this.opts.controlPort}` : null;
  }

  private onDatagram(buf: Buffer, rinfo: RemoteInfo): void {
    let req;
    try {
      req = decodeDiscoverRequest(buf);
    } catch (err) {
      this.dropped++;
      this.log.debug({ from: rinfo.address, code: isCascadeError(err) ? err.code : undefined }, 'junk datagram');
      return;
    }
    if (req.v !== DISCOVERY_VERSION) {
      this.dropped++;
      this.log.warn({ from: rinfo.address, v: req.v }, 'discovery request of another protocol version ignored');
      return;
    }
    const url = this.urlFor(rinfo.address);
    if (!url) {
      this.log.warn({ from: rinfo.address }, 'no local address on the requester’s subnet; not answering');
      return;
    }
    if (!this.underRateLimit()) return;
    this.answered++;
    this.log.info({ from: rinfo.address, session: req.session, url }, 'discovery answered');
    this.socket?.send(
      encodeDiscovery({ cascade: 'coordinator', v: DISCOVERY_VERSION, nonce: req.nonce, url }),
      rinfo.port,
      rinfo.address,
    );
  }

  private underRateLimit(): boolean {
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.repliesInWindow = 0;
    }
    return ++this.repliesInWindow <= (this.opts.maxRepliesPerSecond ?? 200);
  }
}
