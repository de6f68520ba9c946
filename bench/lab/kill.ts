import type { RoleProcess } from '@cascade/cli';
import { progressOf, type StatusReader } from './status.js';

export interface Killed {
  name: string;
  /** ms after the seeder's launch. */
  atMs: number;
  /** Share of the image the victim held, and the mean over every peer, when it was killed. */
  held: number;
  mean: number;
  /** It had a client of its own (a relay mid-chain) when killed. */
  relay: boolean;
}

/**
 * The kill variant: poll the coordinator until the peers hold `when` (0.4) of the image on
 * average, then SIGKILL a relay in the middle of a chain: among the peers that are transferring
 * and serving a client themselves, the one with the median progress (any transferring peer when
 * none serves). Nothing is assumed about who the scheduler paired with whom.
 */
export async function killMidChain(
  read: StatusReader,
  peers: RoleProcess[],
  size: number,
  t0: number,
  o: { when: number; timeoutMs: number; stop: () => boolean },
): Promise<Killed | null> {
  const deadline = Date.now() + o.timeoutMs;
  while (Date.now() < deadline && !o.stop()) {
    const s = await read();
    if (s?.state === 'running') {
      const held = progressOf(s, size);
      const mean = peers.reduce((a, p) => a + (held.get(p.name) ?? 0), 0) / peers.length / size;
      if (mean >= o.when) {
        const servers = new Set(s.transfers.map((t) => t.serverName));
        const moving = s.transfers.filter((t) => t.bytes < size && peers.some((p) => p.name === t.clientName));
        const relays = moving.filter((t) => servers.has(t.clientName));
        const pool = relays.length > 0 ? relays : moving;
        const victim = [...pool].sort((a, b) => a.bytes - b.bytes)[(pool.length - 1) >> 1];
        const proc = victim && peers.find((p) => p.name === victim.clientName);
        if (victim && proc) {
          proc.proc.kill('SIGKILL');
          const atMs = Date.now() - t0;
          return { name: proc.name, atMs, held: victim.bytes / size, mean, relay: relays.length > 0 };
        }
      }
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return null;
}
