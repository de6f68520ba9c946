import { Coordinator } from '@cascade/coordinator';
import type { CommandModule } from 'yargs';
import { parseDurationArg, parseListen } from '../args.js';
import { loggerFrom, onStopSignal, withLogOptions, type LogArgs } from '../common-options.js';

interface Args extends LogArgs {
  listen: string;
  'ping-interval': string;
}

export const coordinatorCommand: CommandModule<object, Args> = {
  command: 'coordinator',
  describe: 'Run the coordinator: sessions, both FIFO queues, pairing, /status',
  builder: (y) =>
    withLogOptions(
      y
        .option('listen', {
          type: 'string',
          default: '0.0.0.0:7770',
          describe: 'host:port for ws control and HTTP /status',
        })
        .option('ping-interval', {
          type: 'string',
          default: '10s',
          describe: 'ws ping interval; a peer silent for two intervals is dropped from the queues',
        }),
    ) as never,
  handler: async (argv) => {
    const { host, port } = parseListen(argv.listen);
    const logger = loggerFrom(argv, { role: 'coordinator' });
    const pingIntervalMs = parseDurationArg(argv['ping-interval'], '--ping-interval');
    const coordinator = new Coordinator({ logger, host, port, pingIntervalMs });
    const bound = await coordinator.listen();
    process.stdout.write(`cascade coordinator listening on ${bound.url}\n`);
    await new Promise<void>((resolve) =>
      onStopSignal((signal) => {
        logger.info({ signal }, 'stopping');
        void coordinator.close().then(resolve);
      }),
    );
  },
};
