import { parseFaultSpec, type SessionOptions } from '@cascade/common';
import { Seeder } from '@cascade/seeder';
import type { CommandModule } from 'yargs';
import { optionalDuration, parseListen, parseRateArg, parseSizeArg } from '../args.js';
import { DEFAULT_COORDINATOR, loggerFrom, onStopSignal, withLogOptions, type LogArgs } from '../common-options.js';
import { withConfigSources } from '../config-sources.js';
import { SEED_KEYS } from '../seed-keys.js';

interface Args extends LogArgs {
  image: string;
  coordinator: string;
  session: string;
  capacity: number;
  listen: string;
  advertise?: string;
  rate?: string;
  slice: string;
  'start-count'?: number;
  'start-after'?: string;
  start?: string;
  'end-count'?: number;
  linger?: string;
  name?: string;
  fault?: string;
}

export function sessionOptionsFrom(argv: Partial<Args>): SessionOptions {
  const o: SessionOptions = {};
  if (argv['start-count'] !== undefined) o.startCount = argv['start-count'];
  const after = optionalDuration(argv['start-after'], '--start-after');
  if (after !== undefined) o.startAfterMs = after;
  if (argv.start === 'manual') o.startManual = true;
  if (argv['end-count'] !== undefined) o.endCount = argv['end-count'];
  const linger = optionalDuration(argv.linger, '--linger');
  if (linger !== undefined) o.lingerMs = linger;
  return o;
}

export const seedCommand: CommandModule<object, Args> = {
  command: 'seed <image>',
  describe: 'Open a session for an image and serve it (the file server)',
  builder: (y) =>
    withLogOptions(
      withConfigSources(y, SEED_KEYS)
        .positional('image', { type: 'string', demandOption: true, describe: 'image file or block device' })
        .option('coordinator', { type: 'string', default: DEFAULT_COORDINATOR, describe: 'coordinator URL' })
        .option('session', { type: 'string', demandOption: true, describe: 'session name' })
        .option('capacity', { type: 'number', default: 2, describe: 'clients served at once' })
        .option('listen', { type: 'string', default: '0.0.0.0:0', describe: 'data-plane host:port (port 0: any)' })
        .option('advertise', { type: 'string', describe: 'address clients connect to (default: the bound one)' })
        .option('rate', { type: 'string', describe: 'uplink cap, e.g. 100Mbit or 12MB/s' })
        .option('slice', { type: 'string', default: '4MiB', describe: 'slice size' })
        .option('start-count', { type: 'number', describe: 'start when N clients wait', group: 'Session gating:' })
        .option('start-after', {
          type: 'string',
          describe: 'start this long after opening (e.g. 10m)',
          group: 'Session gating:',
        })
        .option('start', {
          choices: ['now', 'manual'],
          describe: 'manual: wait for "cascade start"',
          group: 'Session gating:',
        })
        .option('end-count', { type: 'number', describe: 'end once N machines are imaged', group: 'Session gating:' })
        .option('linger', {
          type: 'string',
          describe: 'end after this long with nobody waiting',
          group: 'Session gating:',
        })
        .option('name', { type: 'string', describe: 'name shown in status' })
        .option('fault', {
          type: 'string',
          hidden: true,
          describe: 'fault injection: corrupt-every:N | corrupt-once:I,J',
        }),
    ) as never,
  handler: async (argv) => {
    const logger = loggerFrom(argv, { role: 'seeder', session: argv.session });
    const seeder = new Seeder({
      logger,
      image: argv.image,
      coordinator: argv.coordinator,
      session: argv.session,
      capacity: argv.capacity,
      listen: parseListen(argv.listen),
      sessionOptions: sessionOptionsFrom(argv),
      sliceSize: parseSizeArg(argv.slice, '--slice'),
      ...(argv.advertise ? { advertise: argv.advertise } : {}),
      ...(argv.rate ? { rate: parseRateArg(argv.rate, '--rate') } : {}),
      ...(argv.name ? { name: argv.name } : {}),
      ...(argv.fault ? { fault: parseFaultSpec(argv.fault) } : {}),
    });
    onStopSignal((signal) => {
      logger.info({ signal }, 'stopping');
      void seeder.stop().then(() => process.exit(0));
    });
    const r = await seeder.run();
    process.stdout.write(`session ${argv.session} ended (${r.reason}); served ${r.bytesServed} bytes\n`);
  },
};
