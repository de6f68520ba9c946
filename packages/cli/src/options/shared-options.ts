import { CascadeError, parseAdvertise } from '@cascade/common';
import { parseListen } from '../args.js';
import { duration, positiveCount, wholeAtLeast, type OptionTable } from './option-table.js';

export const DEFAULT_COORDINATOR = 'ws://127.0.0.1:7770';

/** --log-level and --log-format, for every long-running role. */
export const LOG_OPTIONS = [
  {
    name: 'log-level',
    kind: 'string',
    choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    default: 'info',
    describe: 'least severe log level written',
    group: 'Logging:',
  },
  {
    name: 'log-format',
    kind: 'string',
    choices: ['auto', 'json', 'pretty'],
    default: 'auto',
    describe: 'JSON lines, or human-readable (auto: pretty on a TTY)',
    group: 'Logging:',
  },
] as const satisfies OptionTable;

/** --token-file and --ca, for every role that connects to the coordinator. */
export const CLIENT_SECURITY_OPTIONS = [
  {
    name: 'token-file',
    kind: 'string',
    describe: 'file holding the session token (or set CASCADE_TOKEN to the token itself)',
    group: 'Security:',
  },
  {
    name: 'ca',
    kind: 'string',
    describe: 'CA certificate (PEM) to trust for a wss:// coordinator',
    group: 'Security:',
  },
] as const satisfies OptionTable;

/** A ws:// or wss:// URL. */
export function checkCoordinatorUrl(v: string): void {
  let ok = false;
  try {
    ok = ['ws:', 'wss:'].includes(new URL(v).protocol);
  } catch {
    ok = false;
  }
  if (!ok) throw new CascadeError('ERR_BAD_CONFIG', `expected ws://HOST:PORT or wss://HOST:PORT, got "${v}"`);
}

/** --coordinator: no default (a peer searches by broadcast) … */
export function coordinatorOption(describe: string) {
  return { name: 'coordinator', kind: 'string', describe, check: checkCoordinatorUrl } as const;
}

/** … or this host's (the seeder, operators). */
export function coordinatorWithDefault(describe: string) {
  return { ...coordinatorOption(describe), default: DEFAULT_COORDINATOR } as const;
}

export function listenOption(defaultValue: string, describe: string) {
  const check = (v: string): void => void parseListen(v);
  return { name: 'listen', kind: 'string', default: defaultValue, describe, check } as const;
}

/** The data port seeders and peers listen on by default (one firewall rule: TCP 7771). */
export const DEFAULT_DATA_PORT = 7771;
export const DEFAULT_DATA_LISTEN = `0.0.0.0:${DEFAULT_DATA_PORT}`;

/** --listen and --advertise of a data-plane server (seeder, peer). */
export function dataPlaneOptions(listenNote: string) {
  return [
    listenOption(DEFAULT_DATA_LISTEN, `data-plane host:port (TCP ${DEFAULT_DATA_PORT}${listenNote}; port 0: any)`),
    {
      name: 'advertise',
      kind: 'string',
      check: (v: string): void => void parseAdvertise(v),
      describe: 'HOST[:PORT] clients dial, for NAT or several networks (default: the address they reach us at)',
    },
  ] as const;
}

/** --hash-workers: slice digests on a pool of worker threads (peer verification, seeder verify-on-read). */
export const HASH_WORKERS_OPTION = {
  name: 'hash-workers',
  kind: 'number',
  check: wholeAtLeast(0),
  describe: 'threads that verify slice digests (default: one per core, at most 4; 0: on the main thread)',
} as const;

const gating = 'Session gating:';

/** Session gating: `cascade seed` and `cascade set`. */
export const GATING_OPTIONS = [
  { name: 'start-count', kind: 'number', check: positiveCount, describe: 'start when N clients wait', group: gating },
  {
    name: 'start-after',
    kind: 'string',
    parse: duration,
    unit: 'ms',
    describe: 'start this long after opening (e.g. 10m)',
    group: gating,
  },
  {
    name: 'end-count',
    kind: 'number',
    check: positiveCount,
    describe: 'end once N machines are imaged',
    group: gating,
  },
  {
    name: 'linger',
    kind: 'string',
    parse: duration,
    unit: 'ms',
    describe: 'end after this long with nobody waiting',
    group: gating,
  },
] as const satisfies OptionTable;
