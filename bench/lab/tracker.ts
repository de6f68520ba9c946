import type { IncomingMessage, ServerResponse } from 'node:http';
import bencode from 'bencode';

interface SwarmPeer {
  ip: string;
  port: number;
  seen: number;
}

/**
 * A minimal HTTP BitTorrent tracker (BEP 3 + compact peers, BEP 23) for the lab's swarm: it answers
 * `GET /announce` with every other peer of the torrent. `onAnnounce` sees each announce.
 */
export class Tracker {
  private readonly swarms = new Map<string, Map<string, SwarmPeer>>();

  constructor(private readonly onAnnounce: (ip: string, event: string) => void = () => undefined) {}

  handle(req: IncomingMessage, res: ServerResponse): void {
    const query = rawQuery(req.url ?? '');
    const infoHash = query.get('info_hash');
    const peerId = query.get('peer_id');
    const port = Number(query.get('port')?.toString('latin1'));
    const ip = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    if (
      !infoHash ||
      infoHash.length !== 20 ||
      !peerId ||
      !(port > 0 && port < 65536) ||
      !/^\d+\.\d+\.\d+\.\d+$/.test(ip)
    ) {
      res.end(bencode.encode({ 'failure reason': 'bad announce' }));
      return;
    }
    const key = infoHash.toString('hex');
    const swarm = this.swarms.get(key) ?? new Map<string, SwarmPeer>();
    this.swarms.set(key, swarm);
    const event = query.get('event')?.toString('latin1') ?? '';
    const id = peerId.toString('hex');
    if (event === 'stopped') swarm.delete(id);
    else swarm.set(id, { ip, port, seen: Date.now() });
    this.onAnnounce(ip, event);
    const others = [...swarm.entries()].filter(([k]) => k !== id).map(([, p]) => p);
    const compact = Buffer.alloc(others.length * 6);
    others.forEach((p, i) => {
      p.ip.split('.').forEach((o, j) => compact.writeUInt8(Number(o), i * 6 + j));
      compact.writeUInt16BE(p.port, i * 6 + 4);
    });
    res.end(bencode.encode({ interval: 5, 'min interval': 1, complete: 0, incomplete: swarm.size, peers: compact }));
  }
}

/** Query parameters as raw bytes (info_hash and peer_id are binary, percent-encoded). */
function rawQuery(url: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const q = url.split('?', 2)[1] ?? '';
  for (const part of q.split('&')) {
    const [k, v = ''] = part.split('=', 2) as [string, string?];
    const bytes: number[] = [];
    for (let i = 0; i < v.length; i++) {
      if (v[i] === '%' && i + 2 < v.length + 0 && /^[0-9a-fA-F]{2}$/.test(v.slice(i + 1, i + 3))) {
        bytes.push(parseInt(v.slice(i + 1, i + 3), 16));
        i += 2;
      } else bytes.push(v.charCodeAt(i) & 0xff);
    }
    out.set(decodeURIComponent(k), Buffer.from(bytes));
  }
  return out;
}
