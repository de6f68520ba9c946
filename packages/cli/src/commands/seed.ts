import {
  DIGEST_ALGORITHMS,
  loadSigningKey,
  parseFaultSpec,
  type DigestAlgorithm,
  type SessionOptions,
} from '@cascade/common';
import { Seeder } from '@cascade/seeder';
import type { CommandModule } from 'yargs';
import { optionalDuration, parseListen, parseRateArg, parseSizeArg } from '../args.js';
import { DEFAULT_COORDINATOR, loggerFrom, onStopSignal, withLogOptions, type LogArgs } from '../common-options.js';
import { clientSecurityFrom, withClientSecurityOptions, type ClientSecurityArgs } from '../security-options.js';
import { ProgressDisplay } from '../progress-display.js';
import { withConfigSources } from '../config-sources.js';
import { SEED_KEYS } from '../seed-keys.js';

interface Args extends LogArgs, ClientSecurityArgs {
  'sign-key'?: string;
  digest: DigestAlgorithm;
  image: string;
  coordinator: string;
  session: string;
  capacity: number;
  listen: string;
  advertise?: string;
  rate?: string;
  slice?: string;
  relay: boolean;
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
  if (argv.relay) o.relay = true;
  return o;
}

export const seedCommand: CommandModule<object, Args> = {
  command: 'seed <image>',
  describe: 'Open a session for an image and serve it (the file server)',
  builder: (y) =>
    withLogOptions(
      withClientSecurityOptions(withConfigSources(y, SEED_KEYS))
        .positional('image', { type: 'string', demandOption: true, describe: 'image file or block device' })
        .option('coordinator', { type: 'string', default: DEFAULT_COORDINATOR, describe: 'coordinator URL' })
        .option('session', { type: 'string', demandOption: true, describe: 'session name' })
        .option('capacity', { type: 'number', default: 2, describe: 'clients served at once' })
        .option('listen', { type: 'string', default: '0.0.0.0:0', describe: 'data-plane host:port (port 0: any)' })
        .option('advertise', { type: 'string', describe: 'address clients connect to (default: the bound one)' })
        .option('rate', { type: 'string', describe: 'uplink cap, e.g. 100Mbit or 12MB/s' })
        .option('slice', { type: 'string', describe: 'slice size (default 4MiB; 1MiB with --relay)' })
        .option('relay', {
          type: 'boolean',
          default: false,
          describe: 'relay mode: peers serve each verified slice while still downloading (a streaming chain)',
        })
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
        })
        .option('sign-key', {
          type: 'string',
          describe: 'sign the manifest (key from cascade keygen)',
          group: 'Security:',
        })
        .option('digest', {
          choices: DIGEST_ALGORITHMS,
          default: 'md5',
          describe: 'per-slice digest',
          group: 'Security:',
        }),
    ) as never,
  handler: async (argv) => {
    const progress = new ProgressDisplay();
    const logger = loggerFrom(argv, { role: 'seeder', session: argv.session }, progress.logStream);
    progress.attach(logger);
    const security = await clientSecurityFrom(argv);
    const signKey = argv['sign-key'] ? await loadSigningKey(argv['sign-key']) : undefined;
    const seeder = new Seeder({
      logger,
      ...security,
      digest: argv.digest,
      signKey,
      image: argv.image,
      coordinator: argv.coordinator,
      session: argv.session,
      capacity: argv.capacity,
      listen: parseListen(argv.listen),
      sessionOptions: sessionOptionsFrom(argv),
      sliceSize: parseSizeArg(argv.slice ?? (argv.relay ? '1MiB' : '4MiB'), '--slice'),
      ...(argv.advertise ? { advertise: argv.advertise } : {}),
      ...(argv.rate ? { rate: parseRateArg(argv.rate, '--rate') } : {}),
      ...(argv.name ? { name: argv.name } : {}),
      ...(argv.fault ? { fault: parseFaultSpec(argv.fault) } : {}),
      onManifestProgress: (done, total) => {
        progress.update({ phase: 'manifest', done, total });
        if (done === total) progress.stop();
      },
    });
    onStopSignal((signal) => {
      logger.info({ signal }, 'stopping');
      void seeder.stop().then(() => process.exit(0));
    });
    const r = await seeder.run();
    process.stdout.write(`session ${argv.session} ended (${r.reason}); served ${r.bytesServed} bytes\n`);
  },
};
