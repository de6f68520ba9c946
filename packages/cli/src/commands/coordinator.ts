import { Coordinator, DEFAULT_COORDINATOR_LIMITS, type CoordinatorLimits } from '@cascade/coordinator';
import type { CommandModule } from 'yargs';
import { parseDurationArg, parseListen, parseSizeArg } from '../args.js';
import { loggerFrom, onStopSignal, withLogOptions, type LogArgs } from '../common-options.js';
import { tlsFrom, tokenFrom } from '../security-options.js';
import { withConfigSources } from '../config-sources.js';
import { discoveryOptions, startDiscovery, DISCOVERY_KEYS, type DiscoveryArgs } from '../coordinator-discovery.js';

interface Args extends LogArgs, DiscoveryArgs {
  listen: string;
  'ping-interval': string;
  'token-file'?: string;
  'public-status': boolean;
  'tls-cert'?: string;
  'tls-key'?: string;
  'max-connections': number;
  'max-connections-per-address': number;
  'max-message': string;
  'max-messages-per-second': number;
  'message-burst': number;
  'hello-timeout': string;
}

const d = DEFAULT_COORDINATOR_LIMITS;
const group = 'Security and limits:';

export function limitsFrom(argv: Args): Partial<CoordinatorLimits> {
  return {
    maxConnections: argv['max-connections'],
    maxConnectionsPerAddress: argv['max-connections-per-address'],
    maxMessageBytes: parseSizeArg(argv['max-message'], '--max-message'),
    maxMessagesPerSecond: argv['max-messages-per-second'],
    messageBurst: argv['message-burst'],
    helloTimeoutMs: parseDurationArg(argv['hello-timeout'], '--hello-timeout'),
  };
}

export const coordinatorCommand: CommandModule<object, Args> = {
  command: 'coordinator',
  describe: 'Run the coordinator: sessions, both FIFO queues, pairing, /status',
  builder: (y) =>
    withLogOptions(
      discoveryOptions(withConfigSources(y, [{ name: 'listen', kind: 'string' }, ...DISCOVERY_KEYS]))
        .option('listen', {
          type: 'string',
          default: '0.0.0.0:7770',
          describe: 'host:port for ws control and HTTP /status',
        })
        .option('token-file', { type: 'string', describe: 'session token file (or CASCADE_TOKEN)', group })
        .option('public-status', {
          type: 'boolean',
          default: false,
          describe: 'with a token: status (and /status) without it',
          group,
        })
        .option('tls-cert', { type: 'string', describe: 'certificate (PEM): serve wss:// and https://', group })
        .option('tls-key', { type: 'string', describe: 'private key (PEM) of --tls-cert', group })
        .option('max-connections', { type: 'number', default: d.maxConnections, group })
        .option('max-connections-per-address', { type: 'number', default: d.maxConnectionsPerAddress, group })
        .option('max-message', { type: 'string', default: '16MiB', describe: 'largest control message', group })
        .option('max-messages-per-second', { type: 'number', default: d.maxMessagesPerSecond, group })
        .option('message-burst', { type: 'number', default: d.messageBurst, group })
        .option('hello-timeout', { type: 'string', default: '10s', group })
        .option('ping-interval', {
          type: 'string',
          default: '10s',
          describe: 'ws ping interval; a peer silent for two intervals is dropped from the queues',
        }),
    ) as never,
  handler: async (argv) => {
    const { host, port } = parseListen(argv.listen);
    const logger = loggerFrom(argv, { role: 'coordinator' });
    const token = await tokenFrom(argv);
    const tls = await tlsFrom(argv);
    const coordinator = new Coordinator({
      logger,
      host,
      port,
      pingIntervalMs: parseDurationArg(argv['ping-interval'], '--ping-interval'),
      limits: limitsFrom(argv),
      auth: { token, publicStatus: argv['public-status'] },
      ...(tls ? { tls } : {}),
    });
    const bound = await coordinator.listen();
    logger.info({ token: token !== undefined, publicStatus: argv['public-status'], tls: !!tls }, 'security');
    process.stdout.write(`cascade coordinator listening on ${bound.url}\n`);
    const discovery = await startDiscovery(argv, bound, logger);
    await new Promise<void>((resolve) =>
      onStopSignal((signal) => {
        logger.info({ signal }, 'stopping');
        void Promise.all([coordinator.close(), discovery?.close()]).then(() => resolve());
      }),
    );
  },
};
