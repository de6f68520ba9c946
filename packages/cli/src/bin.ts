#!/usr/bin/env node
import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.js';
import { withSuggestions } from './did-you-mean.js';
import { reportFatal } from './exit.js';
import { skipHelpCache } from './help-cache.js';
import { cascadeVersion } from './version.js';
import { installLastResortHandlers } from './last-resort.js';

/** The single `cascade` command: one thin module per role or action. */
async function main(): Promise<void> {
  let cli = yargs(hideBin(process.argv))
    .scriptName('cascade')
    .usage('$0 <command> [options]\n\nImage many machines over plain unicast TCP: a coordinated cascade.')
    .version(cascadeVersion())
    .strict()
    .demandCommand(1, 'name a command (see --help)')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err, y) => {
      if (err) throw err;
      // The third argument is yargs' usage object: its descriptions are the options of the command run.
      const usage = y as unknown as { getDescriptions?: () => Record<string, unknown> };
      const known = Object.keys(usage.getDescriptions?.() ?? {});
      process.stderr.write(
        `cascade: ${withSuggestions(msg, hideBin(process.argv), known)}\n(run "cascade --help" for usage)\n`,
      );
      process.exit(2);
    });
  for (const c of commands) cli = cli.command(c as CommandModule);
  skipHelpCache(cli);
  await cli.parseAsync();
}

installLastResortHandlers();
main().catch((err: unknown) => reportFatal(err));
