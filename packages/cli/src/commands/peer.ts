import { writeFile } from 'node:fs/promises';
import {
  formatBytes,
  formatDuration,
  formatRate,
  loadPublicKey,
  parseFaultSpec,
  toCascadeError,
} from '@cascade/common';
import { Peer, runOnComplete, type PeerResult } from '@cascade/peer';
import type { CommandModule } from 'yargs';
import { parseDurationArg, parseListen, parseRateArg } from '../args.js';
import { loggerFrom, onStopSignal } from '../common-options.js';
import { withOptions } from '../config-sources.js';
import type { ArgsOf } from '../options/option-table.js';
import { PEER_OPTIONS } from '../options/peer-options.js';
import { exitCodeFor, ExitCode } from '../exit.js';
import { clientSecurityFrom } from '../security-options.js';
import { ProgressDisplay } from '../progress-display.js';
import { resolvePeerEndpoints } from '../peer-boot.js';

type Args = ArgsOf<typeof PEER_OPTIONS>;

/** The one line a peer prints at the end: what it received, how fast, from whom, what it served. */
export function summaryLine(target: string, r: PeerResult): string {
  const ms = (r.imagedAt ?? Date.now()) - r.startedAt;
  const rate = ms > 0 ? formatRate((r.bytesReceived * 1000) / ms) : '—';
  const from = r.servers.join(', ') || 'nobody (reused)';
  return `imaged ${target}: ${formatBytes(r.bytesReceived)} received in ${formatDuration(ms)} (${rate}) from ${from}; served ${formatBytes(r.bytesServed)} to ${r.clientsServed} clients`;
}

export const peerCommand: CommandModule<object, Args> = {
  command: 'peer',
  describe: 'Image this machine from the cascade, then serve others until the session ends',
  builder: (y) => withOptions(y, PEER_OPTIONS, { sources: true }) as never,
  handler: async (argv) => {
    const progress = new ProgressDisplay();
    const base = loggerFrom(argv, { role: 'peer', ...(argv.name ? { name: argv.name } : {}) }, progress.logStream);
    const { coordinator, session } = await resolvePeerEndpoints(argv, base);
    const logger = base.child({ session });
    progress.attach(logger);
    const security = await clientSecurityFrom(argv);
    const trust = argv.trust?.length ? await Promise.all(argv.trust.map((t) => loadPublicKey(t))) : undefined;
    const peer = new Peer({
      logger,
      ...security,
      trust,
      coordinator,
      session,
      force: argv.force,
      target: argv.target,
      capacity: argv.capacity,
      listen: parseListen(argv.listen),
      reuse: argv.reuse,
      window: argv.window,
      relayCapacity: argv['relay-capacity'],
      hashThread: argv['hash-thread'],
      stallTimeoutMs: parseDurationArg(argv.stall, '--stall'),
      ...(argv.advertise ? { advertise: argv.advertise } : {}),
      ...(argv.rate ? { rate: parseRateArg(argv.rate, '--rate') } : {}),
      ...(argv.name ? { name: argv.name } : {}),
      ...(argv.fault ? { fault: parseFaultSpec(argv.fault) } : {}),
      onProgress: (p) => {
        if (p.phase !== 'transferring' || p.total === 0) return;
        const left =
          p.slices > 0 && p.rate > 0 ? ((p.total - p.slices) * (p.bytes / p.slices) * 1000) / p.rate : undefined;
        progress.update({
          phase: 'slices',
          done: p.slices,
          total: p.total,
          rate: p.rate,
          ...(left !== undefined ? { etaMs: left } : {}),
        });
      },
    });
    onStopSignal((signal) => {
      // Graceful: abandon the slice in flight, keep what is verified, tell the coordinator; the
      // result (and --report) follow below. A stop that hangs is cut short.
      setTimeout(() => process.exit(ExitCode.INCOMPLETE), 15_000).unref();
      void peer.stop(signal);
    });
    let result: PeerResult | null = null;
    let exit: number = ExitCode.OK;
    let error: string | null = null;
    let errorCode: string | undefined;
    try {
      result = await peer.run();
      progress.stop();
      process.stdout.write(`${summaryLine(argv.target, result)}\n`);
    } catch (err) {
      progress.stop();
      const e = toCascadeError(err, 'ERR_INCOMPLETE');
      exit = exitCodeFor(e);
      errorCode = e.code;
      error = `${e.message} (${e.code})`;
      process.stderr.write(`cascade peer: ${error}\n`);
    }
    const hook = argv['on-complete'];
    if (hook) {
      const outcome = exit === ExitCode.OK ? 'imaged' : exit === ExitCode.INCOMPLETE ? 'incomplete' : 'failed';
      const info = {
        result: outcome,
        exitCode: exit,
        imageId: peer.imageId,
        target: argv.target,
        session,
        coordinator,
      };
      await runOnComplete(hook, { ...info, ...(errorCode ? { errorCode } : {}) }, logger);
    }
    if (argv.report) {
      await writeFile(
        argv.report,
        JSON.stringify({ name: peer.name, id: peer.id, exit, error, ...(result ?? peer.summary) }, null, 2),
      );
    }
    process.exit(exit);
  },
};
