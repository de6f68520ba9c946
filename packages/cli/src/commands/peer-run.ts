import { writeFile } from 'node:fs/promises';
import {
  formatBytes,
  formatDuration,
  formatRate,
  loadPublicKey,
  parseFaultSpec,
  toCascadeError,
} from '@cascade/common';
import { Peer, runFinishHook, type FinishHooks, type PeerOptions, type PeerResult } from '@cascade/peer';
import { parseListen } from '../args.js';
import { parsedValue } from '../options/option-table.js';
import { PEER_OPTIONS } from '../options/peer-options.js';
import { loggerFrom, onStopSignal } from '../common-options.js';
import { configOrigin } from '../config-sources.js';
import { exitCodeFor, ExitCode } from '../exit.js';
import { clientSecurityFrom } from '../security-options.js';
import { ProgressDisplay } from '../progress-display.js';
import { resolvePeerEndpoints } from '../peer-boot.js';
import type { PeerArgs as Args } from './peer.js';

/** The one line a peer prints at the end: what it received, how fast, from whom, what it served. */
export function summaryLine(target: string, r: PeerResult): string {
  const ms = (r.imagedAt ?? Date.now()) - r.startedAt;
  const busy = transferMs(r.transfers);
  // The rate is over the time spent transferring, not waiting in the queue or for a server.
  const rate = busy > 0 ? formatRate((r.bytesReceived * 1000) / busy) : '—';
  const from = r.servers.join(', ') || 'nobody (reused)';
  // Compressed slices: what crossed the wire too.
  const wire = r.wireBytesReceived < r.bytesReceived ? ` (${formatBytes(r.wireBytesReceived)} on the wire)` : '';
  return `imaged ${target}: ${formatBytes(r.bytesReceived)} received${wire} in ${formatDuration(busy)} of transfer (${rate}), ${formatDuration(ms)} in all, from ${from}; served ${formatBytes(r.bytesServed)} to ${r.clientsServed} clients`;
}

/** Time covered by the transfers (overlapping ones counted once). */
export function transferMs(transfers: PeerResult['transfers']): number {
  const spans = transfers.map((t) => [t.startedAt, t.startedAt + t.ms] as const).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -Infinity;
  for (const [from, to] of spans) {
    if (to <= end) continue;
    total += to - Math.max(from, end);
    end = to;
  }
  return total;
}

/** The progress bar's view of a peer's progress events. */
function progressUpdater(progress: ProgressDisplay): NonNullable<PeerOptions['onProgress']> {
  return (p) => {
    if (p.phase !== 'transferring' || p.total === 0) return;
    const left = p.slices > 0 && p.rate > 0 ? ((p.total - p.slices) * (p.bytes / p.slices) * 1000) / p.rate : undefined;
    progress.update({
      phase: 'slices',
      done: p.slices,
      total: p.total,
      rate: p.rate,
      ...(left !== undefined ? { etaMs: left } : {}),
    });
  };
}

/** --hash-workers, or the deprecated --hash-thread: `--no-hash-thread` still means inline hashing. */
function hashWorkersFrom(argv: Args): { hashWorkers?: number } {
  if (argv['hash-workers'] !== undefined) return { hashWorkers: argv['hash-workers'] };
  return argv['hash-thread'] === false ? { hashWorkers: 0 } : {};
}

/** A unit-carrying option of `cascade peer`, as its option table parses it. */
const parsed = (name: (typeof PEER_OPTIONS)[number]['name'], value: string): number =>
  parsedValue(PEER_OPTIONS, name, value);

/** The peer's options from the parsed arguments. */
async function peerOptions(argv: Args, base: PeerOptions['logger'], progress: ProgressDisplay): Promise<PeerOptions> {
  const { coordinator, session } = await resolvePeerEndpoints(argv, base);
  const logger = base.child({ session });
  progress.attach(logger);
  const security = await clientSecurityFrom(argv);
  const trust = argv.trust?.length ? await Promise.all(argv.trust.map((t) => loadPublicKey(t))) : undefined;
  return {
    logger,
    ...security,
    trust,
    coordinator,
    session,
    force: argv.force,
    target: argv.target,
    capacity: argv.capacity,
    listen: parseListen(argv.listen),
    listenFallback: configOrigin('listen') === 'default',
    connectTimeoutMs: parsed('connect-timeout', argv['connect-timeout']),
    reuse: argv.reuse,
    window: argv.window,
    relayCapacity: argv['relay-capacity'],
    ...hashWorkersFrom(argv),
    stallTimeoutMs: parsed('stall', argv.stall),
    minRate: parsed('min-rate', argv['min-rate']),
    ...(argv.advertise ? { advertise: argv.advertise } : {}),
    ...(argv.rate ? { rate: parsed('rate', argv.rate) } : {}),
    ...(argv.name ? { name: argv.name } : {}),
    ...(argv.fault ? { fault: parseFaultSpec(argv.fault) } : {}),
    onProgress: progressUpdater(progress),
  };
}

interface PeerEnd {
  result: PeerResult | null;
  exit: number;
  error: string | null;
  errorCode?: string;
}

/** Run the peer to its end: the summary line on success, one line on stderr otherwise. */
async function runPeer(peer: Peer, target: string, progress: ProgressDisplay): Promise<PeerEnd> {
  try {
    const result = await peer.run();
    progress.stop();
    process.stdout.write(`${summaryLine(target, result)}\n`);
    return { result, exit: ExitCode.OK, error: null };
  } catch (err) {
    progress.stop();
    const e = toCascadeError(err, 'ERR_INCOMPLETE');
    const error = `${e.message} (${e.code})`;
    process.stderr.write(`cascade peer: ${error}\n`);
    return { result: null, exit: exitCodeFor(e), error, errorCode: e.code };
  }
}

const hooksOf = (argv: Args): FinishHooks => ({ onComplete: argv['on-complete'], onFailure: argv['on-failure'] });

/** After the end: the hook (--on-complete only when imaged, --on-failure otherwise), then the report file. */
async function afterPeer(argv: Args, peer: Peer, opts: PeerOptions, end: PeerEnd): Promise<void> {
  const { exit, errorCode } = end;
  const outcome = exit === ExitCode.OK ? 'imaged' : exit === ExitCode.INCOMPLETE ? 'incomplete' : 'failed';
  const info = {
    result: outcome,
    exitCode: exit,
    imageId: peer.imageId,
    target: argv.target,
    session: opts.session,
    coordinator: opts.coordinator,
  };
  await runFinishHook(hooksOf(argv), { ...info, ...(errorCode ? { errorCode } : {}) }, opts.logger);
  if (argv.report) {
    const { exit, error, result } = end;
    const report = { name: peer.name, id: peer.id, exit, error, ...(result ?? peer.summary) };
    await writeFile(argv.report, JSON.stringify(report, null, 2));
  }
}

/**
 * The peer could not even start (no coordinator found, bad settings): one line, --on-failure
 * (boot media: a failed machine stays up and says why), the matching exit code.
 */
async function failedBeforeRun(argv: Args, logger: PeerOptions['logger'], err: unknown): Promise<never> {
  const e = toCascadeError(err, 'ERR_BAD_CONFIG');
  const exit = exitCodeFor(e);
  process.stderr.write(`cascade peer: ${e.message} (${e.code})\n`);
  const info = {
    result: 'failed',
    exitCode: exit,
    imageId: null,
    target: argv.target,
    session: argv.session ?? '',
    coordinator: argv.coordinator ?? '',
    errorCode: e.code,
  };
  await runFinishHook(hooksOf(argv), info, logger);
  process.exit(exit);
}

/** `cascade peer`: image this machine, serve others until the session ends, exit with the outcome's code. */
export async function runPeerCommand(argv: Args): Promise<never> {
  const progress = await ProgressDisplay.open();
  const base = await loggerFrom(argv, { role: 'peer', ...(argv.name ? { name: argv.name } : {}) }, progress.logStream);
  const opts = await peerOptions(argv, base, progress).catch((err: unknown) => failedBeforeRun(argv, base, err));
  const peer = new Peer(opts);
  onStopSignal((signal) => {
    // Graceful: abandon the slice in flight, keep what is verified, tell the coordinator; the
    // result (and --report) follow below. A stop that hangs is cut short.
    setTimeout(() => process.exit(ExitCode.INCOMPLETE), 15_000).unref();
    peer.stop(signal).catch((err: unknown) => opts.logger.error({ err }, 'stop failed'));
  });
  const end = await runPeer(peer, argv.target, progress);
  await afterPeer(argv, peer, opts, end);
  process.exit(end.exit);
}
