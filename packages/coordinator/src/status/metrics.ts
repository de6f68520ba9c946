import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { SessionStatus, StatusSnapshot } from './status.js';

const SESSION_STATES = ['unopened', 'waiting', 'running', 'ended'] as const;
const OUTCOMES = ['waiting', 'transferring', 'imaged', 'failed', 'left', 'lost'] as const;
/** Series of cascade_machine_info per scrape, over every session: label cardinality stays bounded. */
export const MACHINE_SERIES_LIMIT = 1024;

type SetGauge = (labels: Record<string, string>, v: number) => void;

/** Every per-session gauge: its name, help, labels, and how it is filled from a snapshot's sessions. */
const SESSION_GAUGES: Array<{
  name: string;
  help: string;
  labelNames: string[];
  fill: (sessions: SessionStatus[], set: SetGauge) => void;
}> = [
  {
    name: 'cascade_session_state',
    help: 'Session state: 1 for the current state',
    labelNames: ['session', 'state'],
    fill: (sessions, set) => {
      for (const s of sessions)
        for (const st of SESSION_STATES) set({ session: s.name, state: st }, s.state === st ? 1 : 0);
    },
  },
  {
    name: 'cascade_machines_imaged',
    help: 'Machines imaged in the session',
    labelNames: ['session'],
    fill: (sessions, set) => sessions.forEach((s) => set({ session: s.name }, s.imaged)),
  },
  {
    name: 'cascade_queue_length',
    help: 'Queue lengths: waiting clients, servers with a free slot',
    labelNames: ['session', 'queue'],
    fill: (sessions, set) => {
      for (const s of sessions) {
        set({ session: s.name, queue: 'clients' }, s.waiting.length);
        const free = s.servers.filter((x) => !x.quarantined && x.active < x.capacity).length;
        set({ session: s.name, queue: 'servers' }, free);
      }
    },
  },
  {
    name: 'cascade_peers',
    help: 'Peers by state',
    labelNames: ['session', 'state'],
    fill: (sessions, set) => {
      for (const s of sessions) {
        set({ session: s.name, state: 'waiting' }, s.waiting.length);
        set({ session: s.name, state: 'transferring' }, s.transfers.length);
        set({ session: s.name, state: 'imaged' }, s.imaged);
      }
    },
  },
  {
    name: 'cascade_servers',
    help: 'Servers offering slots (seeder and imaged peers)',
    labelNames: ['session'],
    fill: (sessions, set) => sessions.forEach((s) => set({ session: s.name }, s.servers.length)),
  },
  {
    name: 'cascade_server_slots',
    help: 'Server slots, total and free',
    labelNames: ['session', 'kind'],
    fill: (sessions, set) => {
      for (const s of sessions) {
        const total = s.servers.reduce((a, x) => a + x.capacity, 0);
        const busy = s.servers.reduce((a, x) => a + x.active, 0);
        set({ session: s.name, kind: 'total' }, total);
        set({ session: s.name, kind: 'free' }, Math.max(0, total - busy));
      }
    },
  },
  {
    name: 'cascade_transfers_active',
    help: 'Transfers running now',
    labelNames: ['session'],
    fill: (sessions, set) => sessions.forEach((s) => set({ session: s.name }, s.transfers.length)),
  },
  {
    name: 'cascade_session_complete_sources',
    help: 'Servers holding the whole image (seeders, imaged peers) that can be given clients; 0 while a session waits for a source',
    labelNames: ['session'],
    fill: (sessions, set) => sessions.forEach((s) => set({ session: s.name }, s.completeSources)),
  },
  {
    name: 'cascade_servers_unreachable',
    help: 'Servers their clients reported unreachable (given no new client)',
    labelNames: ['session'],
    fill: (sessions, set) =>
      sessions.forEach((s) => set({ session: s.name }, s.servers.filter((x) => x.unreachable).length)),
  },
  {
    name: 'cascade_roster_machines',
    help: 'Machines that joined the session, by how they ended (or where they stand)',
    labelNames: ['session', 'outcome'],
    fill: (sessions, set) => {
      for (const s of sessions)
        for (const o of OUTCOMES) set({ session: s.name, outcome: o }, s.roster.filter((r) => r.outcome === o).length);
    },
  },
  {
    name: 'cascade_machine_info',
    help: `Every machine (first ${MACHINE_SERIES_LIMIT} over all sessions) by its unique name, IP and MAC, labelled with its outcome`,
    labelNames: ['session', 'name', 'ip', 'mac', 'outcome'],
    fill: (sessions, set) => {
      let n = 0;
      for (const s of sessions)
        for (const r of s.roster) {
          if (n++ >= MACHINE_SERIES_LIMIT) return;
          set({ session: s.name, name: r.name, ip: r.ip ?? '', mac: r.mac ?? '', outcome: r.outcome }, 1);
        }
    },
  },
  {
    name: 'cascade_session_image_bytes',
    help: "Size of the session's image, bytes",
    labelNames: ['session'],
    fill: (sessions, set) => sessions.forEach((s) => s.bytes && set({ session: s.name }, s.bytes.image)),
  },
  {
    name: 'cascade_session_used_bytes',
    help: 'Bytes of the image its filesystems use (the image size without a used map)',
    labelNames: ['session'],
    fill: (sessions, set) => sessions.forEach((s) => s.bytes && set({ session: s.name }, s.bytes.used)),
  },
  {
    name: 'cascade_session_wire_estimate_bytes',
    help: "The seeder's estimate of the bytes the whole image takes on the wire (compressed)",
    labelNames: ['session'],
    fill: (sessions, set) =>
      sessions.forEach((s) => s.bytes?.wireEstimate != null && set({ session: s.name }, s.bytes.wireEstimate)),
  },
  {
    name: 'cascade_session_compression_ratio',
    help: 'Payload bytes peers received per wire byte (1 when nothing came compressed)',
    labelNames: ['session'],
    fill: (sessions, set) => sessions.forEach((s) => s.bytes?.ratio != null && set({ session: s.name }, s.bytes.ratio)),
  },
  {
    name: 'cascade_transfer_rate_bytes',
    help: 'Aggregate receive rate of running transfers, bytes/s',
    labelNames: ['session'],
    fill: (sessions, set) =>
      sessions.forEach((s) =>
        set(
          { session: s.name },
          s.transfers.reduce((a, t) => a + t.rate, 0),
        ),
      ),
  },
];
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
  private readonly wire: Counter<'session'>;
  private readonly payload: Counter<'session'>;
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
      help: 'Transfers by outcome: assigned (paired), moved (to a faster server mid-transfer), done (image complete), failed',
      labelNames: ['session', 'outcome'],
      registers,
    });
    this.serversLost = new Counter({
      name: 'cascade_servers_lost_total',
      help: 'Servers whose control connection closed while offering slots',
      labelNames: ['session'],
      registers,
    });
    this.wire = new Counter({
      name: 'cascade_session_wire_bytes_total',
      help: 'Bytes peers received on data connections (compressed slices as sent), from their progress reports',
      labelNames: ['session'],
      registers,
    });
    this.payload = new Counter({
      name: 'cascade_session_payload_bytes_total',
      help: 'Payload bytes (used image bytes) peers received and wrote, from their progress reports',
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

  /** New wire and payload bytes a peer reported. */
  trafficked(name: string, fresh: { wire: number; payload: number }): void {
    if (fresh.wire <= 0 && fresh.payload <= 0) return;
    const session = this.label(name);
    if (fresh.wire > 0) this.wire.inc({ session }, fresh.wire);
    if (fresh.payload > 0) this.payload.inc({ session }, fresh.payload);
  }

  transfer(session: string, outcome: 'assigned' | 'moved' | 'done' | 'failed'): void {
    this.transfers.inc({ session: this.label(session), outcome });
  }

  digestMismatches(session: string, count: number): void {
    if (count > 0) this.mismatches.inc({ session: this.label(session) }, count);
  }

  serverLost(session: string): void {
    this.serversLost.inc({ session: this.label(session) });
  }

  /** Gauges computed from a fresh status snapshot whenever /metrics is scraped (SESSION_GAUGES). */
  private sessionGauges(status: () => StatusSnapshot): void {
    const sessions = (): SessionStatus[] => (this.snapshot ??= status()).sessions;
    const snapshot = (): StatusSnapshot => (this.snapshot ??= status());
    new Gauge({
      name: 'cascade_sessions',
      help: 'Sessions the coordinator holds, by state (listed or not)',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        this.reset();
        const counts = snapshot().counts;
        for (const st of ['pending', 'waiting', 'running', 'ended'] as const)
          this.set({ state: st }, counts?.[st] ?? 0);
      },
    });
    for (const g of SESSION_GAUGES) {
      new Gauge({
        name: g.name,
        help: g.help,
        labelNames: g.labelNames,
        registers: [this.registry],
        collect() {
          this.reset();
          g.fill(sessions(), (labels, v) => this.set(labels, v));
        },
      });
    }
  }
}
