import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { StatusSnapshot } from './status.js';

const SESSION_STATES = ['pending', 'waiting', 'running', 'ended'] as const;
/** Distinct `session` label values counters keep; events of further sessions count as `_other`. */
export const MAX_SESSION_LABELS = 256;

/**
 * The coordinator's Prometheus metrics (`GET /metrics`), in a registry of its own. Gauges are
 * read from a status snapshot at scrape time; counters are advanced by the coordinator at events
 * (progress, assignment, finish, failure, lost server).
 */
export class CoordinatorMetrics {
  readonly registry = new Registry();
  private readonly bytes: Counter<'session'>;
  private readonly slices: Counter<'session'>;
  private readonly mismatches: Counter<'session'>;
  private readonly transfers: Counter<'session' | 'outcome'>;
  private readonly serversLost: Counter<'session'>;
  /** One snapshot shared by every gauge of a scrape. */
  private snapshot: StatusSnapshot | null = null;
  private readonly labels = new Set<string>();

  constructor(status: () => StatusSnapshot, opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.bytes = new Counter({
      name: 'cascade_bytes_received_total',
      help: 'Image bytes verified and written by peers, from their progress reports',
      labelNames: ['session'],
      registers,
    });
    this.slices = new Counter({
      name: 'cascade_slices_verified_total',
      help: 'Slices verified (MD5) and written by peers',
      labelNames: ['session'],
      registers,
    });
    this.mismatches = new Counter({
      name: 'cascade_digest_mismatches_total',
      help: 'Slices that failed their MD5 check at a peer',
      labelNames: ['session'],
      registers,
    });
    this.transfers = new Counter({
      name: 'cascade_transfers_total',
      help: 'Transfers by outcome: assigned (paired), done (image complete), failed',
      labelNames: ['session', 'outcome'],
      registers,
    });
    this.serversLost = new Counter({
      name: 'cascade_servers_lost_total',
      help: 'Servers whose control connection closed while offering slots',
      labelNames: ['session'],
      registers,
    });
    this.sessionGauges(status);
    if (opts.processMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: 'cascade_coordinator_' });
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    this.snapshot = null;
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The label for a session's counters: bounded, so names a client makes up cannot grow /metrics. */
  private label(session: string): string {
    if (this.labels.has(session)) return session;
    if (this.labels.size >= MAX_SESSION_LABELS) return '_other';
    this.labels.add(session);
    return session;
  }

  progressed(name: string, fresh: { slices: number; bytes: number }): void {
    const session = this.label(name);
    if (fresh.bytes > 0) this.bytes.inc({ session }, fresh.bytes);
    if (fresh.slices > 0) this.slices.inc({ session }, fresh.slices);
  }

  transfer(session: string, outcome: 'assigned' | 'done' | 'failed'): void {
    this.transfers.inc({ session: this.label(session), outcome });
  }

  digestMismatches(session: string, count: number): void {
    if (count > 0) this.mismatches.inc({ session: this.label(session) }, count);
  }

  serverLost(session: string): void {
    this.serversLost.inc({ session: this.label(session) });
  }

  /** Gauges computed from a fresh status snapshot whenever /metrics is scraped. */
  private sessionGauges(status: () => StatusSnapshot): void {
    const sessions = (): StatusSnapshot['sessions'] => (this.snapshot ??= status()).sessions;
    const gauge = (
      name: string,
      help: string,
      labelNames: string[],
      fill: (set: (labels: Record<string, string>, v: number) => void) => void,
    ): void => {
      new Gauge({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          this.reset();
          fill((labels, v) => this.set(labels, v));
        },
      });
    };
    gauge('cascade_sessions', 'Sessions the coordinator holds, by state (listed or not)', ['state'], (set) => {
      const counts = (this.snapshot ??= status()).counts;
      for (const st of SESSION_STATES) set({ state: st }, counts?.[st] ?? 0);
    });
    gauge('cascade_session_state', 'Session state: 1 for the current state', ['session', 'state'], (set) => {
      for (const s of sessions())
        for (const st of SESSION_STATES) set({ session: s.name, state: st }, s.state === st ? 1 : 0);
    });
    gauge('cascade_machines_imaged', 'Machines imaged in the session', ['session'], (set) => {
      for (const s of sessions()) set({ session: s.name }, s.imaged);
    });
    gauge(
      'cascade_queue_length',
      'Queue lengths: waiting clients, servers with a free slot',
      ['session', 'queue'],
      (set) => {
        for (const s of sessions()) {
          set({ session: s.name, queue: 'clients' }, s.waiting.length);
          const free = s.servers.filter((x) => !x.quarantined && x.active < x.capacity).length;
          set({ session: s.name, queue: 'servers' }, free);
        }
      },
    );
    gauge('cascade_peers', 'Peers by state', ['session', 'state'], (set) => {
      for (const s of sessions()) {
        set({ session: s.name, state: 'waiting' }, s.waiting.length);
        set({ session: s.name, state: 'transferring' }, s.transfers.length);
        set({ session: s.name, state: 'imaged' }, s.imaged);
      }
    });
    gauge('cascade_servers', 'Servers offering slots (seeder and imaged peers)', ['session'], (set) => {
      for (const s of sessions()) set({ session: s.name }, s.servers.length);
    });
    gauge('cascade_server_slots', 'Server slots, total and free', ['session', 'kind'], (set) => {
      for (const s of sessions()) {
        const total = s.servers.reduce((a, x) => a + x.capacity, 0);
        const busy = s.servers.reduce((a, x) => a + x.active, 0);
        set({ session: s.name, kind: 'total' }, total);
        set({ session: s.name, kind: 'free' }, Math.max(0, total - busy));
      }
    });
    gauge('cascade_transfers_active', 'Transfers running now', ['session'], (set) => {
      for (const s of sessions()) set({ session: s.name }, s.transfers.length);
    });
    gauge('cascade_transfer_rate_bytes', 'Aggregate receive rate of running transfers, bytes/s', ['session'], (set) => {
      for (const s of sessions())
        set(
          { session: s.name },
          s.transfers.reduce((a, t) => a + t.rate, 0),
        );
    });
  }
}
