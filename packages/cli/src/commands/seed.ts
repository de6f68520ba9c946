import type { SessionOptions } from '@cascade/common';
import type { CommandModule } from 'yargs';
import { optionalDuration } from '../args.js';
import { withOptions } from '../config-sources.js';
import type { ArgsOf } from '../options/option-table.js';
import { SEED_OPTIONS } from '../options/seed-options.js';

export type SeedArgs = ArgsOf<typeof SEED_OPTIONS> & { image: string };

export function sessionOptionsFrom(argv: Partial<SeedArgs>): SessionOptions {
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

export const seedCommand: CommandModule<object, SeedArgs> = {
  command: 'seed <image>',
  describe: 'Open a session for an image and serve it (the file server)',
  builder: (y) =>
    withOptions(
      y.positional('image', { type: 'string', demandOption: true, describe: 'image file or block device' }),
      SEED_OPTIONS,
      { sources: true },
    ) as never,
  handler: async (argv) => {
    // The seeder is loaded here, not at the top: every `cascade` command loads this module.
    const { runSeed } = await import('./seed-run.js');
    await runSeed(argv);
  },
};
