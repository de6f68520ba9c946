import type { Argv } from 'yargs';

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
export function skipHelpCache(cli: Argv): void {
  const usage = (cli as unknown as YargsUsageInternals).getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined;
}
