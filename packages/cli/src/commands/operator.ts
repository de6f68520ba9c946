import { randomUUID } from 'node:crypto';
import {
  CascadeError,
  ControlClient,
  coordinatorRefusal,
  silentLogger,
  type ClientMessage,
  type CoordinatorMessage,
  type SessionOptions,
} from '@cascade/common';
import type { CommandModule } from 'yargs';
import { withOptions } from '../config-sources.js';
import { OPERATOR_OPTIONS } from '../options/operator-options.js';
import type { ArgsOf } from '../options/option-table.js';
import { GATING_OPTIONS } from '../options/shared-options.js';
import { clientSecurityFrom } from '../security-options.js';
import { sessionOptionsFrom } from './seed.js';

/** Connect as an operator or observer, send one message, and wait for its answer. */
export async function requestOnce(
  url: string,
  role: 'operator' | 'observer',
  msg: ClientMessage,
  accept: (m: CoordinatorMessage) => boolean,
  timeoutMs = 10_000,
  security: { token?: Uint8Array; ca?: Buffer } = {},
): Promise<CoordinatorMessage> {
  let settle: ((m: CoordinatorMessage) => void) | null = null;
  let fail: ((e: Error) => void) | null = null;
  const answer = new Promise<CoordinatorMessage>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const client = new ControlClient({
    url,
    logger: silentLogger(),
    reconnect: false,
    ...security,
    hello: { role, id: randomUUID(), name: `${role}@${process.env.USER ?? 'cli'}` },
    onConnected: () => client.send(msg),
    onMessage: (m) => {
      if (m.type === 'error') fail?.(coordinatorRefusal(m.code, m.message));
      else if (accept(m)) settle?.(m);
    },
  });
  const timer = setTimeout(
    () => fail?.(new CascadeError('ERR_COORDINATOR_UNREACHABLE', `no answer from ${url}`)),
    timeoutMs,
  );
  try {
    await client.start();
    return await answer;
  } finally {
    clearTimeout(timer);
    void client.close();
  }
}

type Args = ArgsOf<typeof OPERATOR_OPTIONS> & { name: string };

function sessionCommand(verb: 'start' | 'end', describe: string): CommandModule<object, Args> {
  return {
    command: `${verb} <name>`,
    describe,
    builder: (y) =>
      withOptions(
        y.positional('name', { type: 'string', demandOption: true, describe: 'session name' }),
        OPERATOR_OPTIONS,
        { sources: false },
      ) as never,
    handler: async (argv) => {
      const type = verb === 'start' ? 'start-session' : 'end-session';
      const security = await clientSecurityFrom(argv);
      const msg = { type, session: argv.name } as const;
      await requestOnce(argv.coordinator, 'operator', msg, (m) => m.type === 'ack', 10_000, security);
      process.stdout.write(`session ${argv.name}: ${verb === 'start' ? 'started' : 'ended'}\n`);
    },
  };
}

export const startCommand = sessionCommand('start', 'Start a waiting session now');
export const endCommand = sessionCommand('end', 'End a session: peers finish serving and exit');

type SetArgs = Args & ArgsOf<typeof GATING_OPTIONS>;

export const setCommand: CommandModule<object, SetArgs> = {
  command: 'set <name>',
  describe: "Change a session's gating while it waits",
  builder: (y) =>
    withOptions(
      y.positional('name', { type: 'string', demandOption: true, describe: 'session name' }),
      [...OPERATOR_OPTIONS, ...GATING_OPTIONS],
      { sources: false },
    ) as never,
  handler: async (argv) => {
    const options: SessionOptions = sessionOptionsFrom(argv);
    await requestOnce(
      argv.coordinator,
      'operator',
      { type: 'set-session', session: argv.name, options },
      (m) => m.type === 'ack',
      10_000,
      await clientSecurityFrom(argv),
    );
    process.stdout.write(`session ${argv.name}: updated ${JSON.stringify(options)}\n`);
  },
};
