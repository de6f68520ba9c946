#!/usr/bin/env node
import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.js';
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
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`cascade: ${msg}\n(run "cascade --help" for usage)\n`);
      process.exit(2);
    });
  for (const c of commands) cli = cli.command(c as CommandModule);
  skipHelpCache(cli);
  await cli.parseAsync();
}

installLastResortHandlers();
main().catch((err: unknown) => reportFatal(err));
