#!/usr/bin/env node
import yargs, { type Argv, type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.js';
import { reportFatal } from './exit.js';
import { cascadeVersion } from './version.js';
import { installLastResortHandlers } from './last-resort.js';

interface YargsUsageInternals {
  getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } };
}

/**
 * yargs renders the chosen command's whole help text right after starting its handler, to have
 * it ready should the handler fail later: 20-50 ms of cliui/string-width/wrap-ansi work on the
 * main thread in the middle of every role's startup. Our .fail() never prints help, and --help
 * is answered before any handler runs, so that text is never used: skip rendering it. (A yargs
 * internal: if a later yargs lacks it, nothing breaks, the text is rendered as before.)
 */
function skipHelpCache(cli: Argv): void {
  const usage = (cli as unknown as YargsUsageInternals).getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined;
}

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
