import { loadSigningKey, parseFaultSpec, type SessionOptions } from '@cascade/common';
import { Seeder } from '@cascade/seeder';
import type { CommandModule } from 'yargs';
import { optionalDuration, parseListen, parseRateArg, parseSizeArg } from '../args.js';
import { loggerFrom, onStopSignal } from '../common-options.js';
import { clientSecurityFrom } from '../security-options.js';
import { ProgressDisplay } from '../progress-display.js';
import { withOptions } from '../config-sources.js';
import type { ArgsOf } from '../options/option-table.js';
import { SEED_OPTIONS } from '../options/seed-options.js';

type Args = ArgsOf<typeof SEED_OPTIONS> & { image: string };

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
    withOptions(
      y.positional('image', { type: 'string', demandOption: true, describe: 'image file or block device' }),
      SEED_OPTIONS,
      { sources: true },
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
      verifyReads: argv['verify-reads'],
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
      seeder.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'stop failed');
          process.exit(1);
        },
      );
    });
    const r = await seeder.run();
    process.stdout.write(`session ${argv.session} ended (${r.reason}); served ${r.bytesServed} bytes\n`);
  },
};
