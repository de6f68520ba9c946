import { Coordinator } from '@cascade/coordinator';
import type { CommandModule } from 'yargs';
import { parseListen } from '../args.js';
import { loggerFrom, onStopSignal, withLogOptions, type LogArgs } from '../common-options.js';
import { withConfigSources } from '../config-sources.js';
import { discoveryOptions, startDiscovery, DISCOVERY_KEYS, type DiscoveryArgs } from '../coordinator-discovery.js';

interface Args extends LogArgs, DiscoveryArgs {
  listen: string;
}

export const coordinatorCommand: CommandModule<object, Args> = {
  command: 'coordinator',
  describe: 'Run the coordinator: sessions, both FIFO queues, pairing, /status',
  builder: (y) =>
    withLogOptions(
      discoveryOptions(withConfigSources(y, [{ name: 'listen', kind: 'string' }, ...DISCOVERY_KEYS])).option('listen', {
        type: 'string',
        default: '0.0.0.0:7770',
        describe: 'host:port for ws control and HTTP /status',
      }),
    ) as never,
  handler: async (argv) => {
    const { host, port } = parseListen(argv.listen);
    const logger = loggerFrom(argv, { role: 'coordinator' });
    const coordinator = new Coordinator({ logger, host, port });
    const bound = await coordinator.listen();
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
