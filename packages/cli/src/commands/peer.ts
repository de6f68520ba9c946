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
import { loggerFrom, onStopSignal, withLogOptions, type LogArgs } from '../common-options.js';
import { withConfigSources } from '../config-sources.js';
import { exitCodeFor, ExitCode } from '../exit.js';
import { clientSecurityFrom, withClientSecurityOptions, type ClientSecurityArgs } from '../security-options.js';
import { ProgressDisplay } from '../progress-display.js';
import { PEER_KEYS, resolvePeerEndpoints, type EndpointArgs } from '../peer-boot.js';

interface Args extends LogArgs, EndpointArgs, ClientSecurityArgs {
  trust?: string[];
  target: string;
  capacity: number;
  listen: string;
  advertise?: string;
  rate?: string;
  reuse: boolean;
  name?: string;
  window: number;
  'relay-capacity': number;
  'hash-thread': boolean;
  stall: string;
  report?: string;
  fault?: string;
  force: boolean;
  'on-complete'?: string;
}

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
  builder: (y) =>
    withLogOptions(
      withClientSecurityOptions(withConfigSources(y, PEER_KEYS))
        .option('coordinator', { type: 'string', describe: 'coordinator URL (default: found by UDP broadcast)' })
        .option('session', { type: 'string', describe: "session name (default: the subnet's broadcast address)" })
        .option('target', { type: 'string', demandOption: true, describe: 'file or block device to write' })
        .option('capacity', { type: 'number', default: 3, describe: 'clients served at once once imaged' })
        .option('listen', { type: 'string', default: '0.0.0.0:0', describe: 'data-plane host:port (port 0: any)' })
        .option('advertise', { type: 'string', describe: 'address clients connect to (default: the bound one)' })
        .option('rate', { type: 'string', describe: 'uplink cap when serving, e.g. 100Mbit' })
        .option('reuse', {
          type: 'boolean',
          default: false,
          describe: 'hash the target first; fetch only slices that differ',
        })
        .option('name', { type: 'string', describe: 'name shown in status (default: hostname)' })
        .option('window', {
          type: 'number',
          default: 8,
          describe: 'most requests kept outstanding (sized from the measured rate below that)',
        })
        .option('hash-thread', {
          type: 'boolean',
          default: false,
          describe: 'verify slices on a worker thread (faster on very fast links, uses more memory)',
        })
        .option('relay-capacity', {
          type: 'number',
          default: 1,
          describe: 'relay sessions: clients served while still downloading (1 = a chain at link rate)',
        })
        .option('stall', { type: 'string', default: '30s', describe: 'a server silent this long is lost' })
        .option('report', { type: 'string', describe: 'write the result as JSON to this file' })
        .option('fault', {
          type: 'string',
          hidden: true,
          describe: 'fault injection when serving: corrupt-every:N | corrupt-once:I,J',
        })
        .option('trust', {
          type: 'string',
          array: true,
          describe: 'accept only manifests signed by this public key (ed25519:… or a .pub file); repeatable',
          group: 'Security:',
        })
        .option('force', { type: 'boolean', default: false, describe: 'write even to a mounted or system device' })
        .option('on-complete', { type: 'string', describe: 'shell command run when finished, e.g. reboot' })
        .option('discovery-port', { type: 'number', default: 7771, describe: 'UDP port to find a coordinator on' })
        .option('discovery-timeout', { type: 'string', default: '10m', describe: 'give up searching after this' }),
    ) as never,
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
