import { CascadeError } from '@cascade/common';
import type { StatusSnapshot } from '@cascade/coordinator';
import type { CommandModule } from 'yargs';
import { withOptions } from '../config-sources.js';
import { OPERATOR_OPTIONS } from '../options/operator-options.js';
import { clientSecurityFrom, type ClientSecurityArgs } from '../security-options.js';
import { requestOnce } from './operator.js';

interface Args extends ClientSecurityArgs {
  coordinator: string;
  session?: string;
  json: boolean;
  watch: boolean;
  tree: boolean;
}

export async function fetchStatus(
  url: string,
  session?: string,
  security: { token?: Uint8Array; ca?: Buffer } = {},
): Promise<StatusSnapshot> {
  const m = await requestOnce(
    url,
    'observer',
    { type: 'get-status', ...(session ? { session } : {}) },
    (x) => x.type === 'status',
    10_000,
    security,
  );
  if (m.type !== 'status') throw new CascadeError('ERR_MESSAGE_MALFORMED', `expected a status message, got ${m.type}`);
  return m.status;
}

/**
 * One plain snapshot: the console's lines, never cut, as wide as the terminal (100 otherwise).
 * The console is loaded here, not at the top: every `cascade` command loads this module.
 */
export async function renderPlain(s: StatusSnapshot, opts: { tree?: boolean; source?: string } = {}): Promise<string> {
  const { renderConsole } = await import('../console/render.js');
  const columns = process.stdout.isTTY ? process.stdout.columns || 100 : 100;
  return `${renderConsole(s, { columns, rows: Infinity }, { tree: opts.tree ?? false, ...(opts.source ? { source: opts.source } : {}) }).join('\n')}\n`;
}

export const statusCommand: CommandModule<object, Args> = {
  command: 'status',
  describe: 'Show sessions, both queues and transfers (--watch: live console)',
  builder: (y) =>
    withOptions(y, OPERATOR_OPTIONS, { sources: false })
      .option('session', { type: 'string', describe: 'only this session' })
      .option('watch', {
        type: 'boolean',
        default: false,
        describe: 'live console, refreshed every second (t: tree, q: quit)',
      })
      .option('tree', { type: 'boolean', default: false, describe: 'show who served whom' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON for scripts' }) as never,
  handler: async (argv) => {
    if (argv.json && argv.watch) throw new CascadeError('ERR_BAD_CONFIG', '--json and --watch cannot be combined');
    const security = await clientSecurityFrom(argv);
    const s = await fetchStatus(argv.coordinator, argv.session, security);
    if (argv.json) process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
    else if (!argv.watch) process.stdout.write(await renderPlain(s, { tree: argv.tree, source: argv.coordinator }));
    else {
      const { watchStatus } = await import('../console/watch.js');
      const session = argv.session ? { session: argv.session } : {};
      await watchStatus({ url: argv.coordinator, tree: argv.tree, first: s, security, ...session });
      process.exit(0);
    }
  },
};
