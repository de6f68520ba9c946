import type { CoordinatorLimits } from '@cascade/coordinator';
import type { CommandModule } from 'yargs';
import { parseListen } from '../args.js';
import { loggerFrom, onStopSignal } from '../common-options.js';
import { tlsFrom, tokenFrom } from '../security-options.js';
import { withOptions } from '../config-sources.js';
import { COORDINATOR_OPTIONS } from '../options/coordinator-options.js';
import { parsedArgs, type ArgsOf, type ParsedArgsOf } from '../options/option-table.js';

type Args = ArgsOf<typeof COORDINATOR_OPTIONS>;

/** The coordinator's limits, from arguments its option table parsed (defaults are the table's). */
export function limitsFrom(args: ParsedArgsOf<typeof COORDINATOR_OPTIONS>): Partial<CoordinatorLimits> {
  return {
    maxConnections: args['max-connections'],
    maxConnectionsPerAddress: args['max-connections-per-address'],
    maxMessageBytes: args['max-message'],
    maxHelloBytes: args['max-hello'],
    maxBufferedBytesPerAddress: args['max-unfinished-per-address'],
    maxMessagesPerSecond: args['max-messages-per-second'],
    messageBurst: args['message-burst'],
    helloTimeoutMs: args['hello-timeout'],
  };
}

export const coordinatorCommand: CommandModule<object, Args> = {
  command: 'coordinator',
  describe: 'Run the coordinator: sessions, both FIFO queues, pairing, /status',
  builder: (y) => withOptions(y, COORDINATOR_OPTIONS, { sources: true }) as never,
  handler: async (argv) => {
    // Loaded here, not at the top: every `cascade` command loads this module for its options.
    const { Coordinator } = await import('@cascade/coordinator');
    const { startDiscovery } = await import('../coordinator-discovery.js');
    const { host, port } = parseListen(argv.listen);
    const logger = await loggerFrom(argv, { role: 'coordinator' });
    const token = await tokenFrom(argv);
    const tls = await tlsFrom(argv);
    const args = parsedArgs(COORDINATOR_OPTIONS, argv);
    const coordinator = new Coordinator({
      logger,
      host,
      port,
      pingIntervalMs: args['ping-interval'],
      limits: limitsFrom(args),
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
