import { DISCOVERY_PORT, parseRate } from '@cascade/common';
import { port, positiveCount, positiveDuration, positiveRate, wholeAtLeast, type OptionTable } from './option-table.js';
import {
  CLIENT_SECURITY_OPTIONS,
  coordinatorOption,
  dataPlaneOptions,
  HASH_WORKERS_OPTION,
  LOG_OPTIONS,
} from './shared-options.js';

/**
 * Every option of `cascade peer`. Each is also a CASCADE_* variable and a cascade.* kernel
 * parameter, so boot media can set all of them (lists: comma-separated).
 */
export const PEER_OPTIONS = [
  coordinatorOption('coordinator URL (default: found by UDP broadcast)'),
  { name: 'session', kind: 'string', describe: "session name (default: the subnet's broadcast address)" },
  { name: 'target', kind: 'string', demand: true, describe: 'file or block device to write' },
  {
    name: 'capacity',
    kind: 'number',
    default: 3,
    check: wholeAtLeast(0),
    describe: 'clients served at once once imaged (0: image this machine only, serve nobody)',
  },
  ...dataPlaneOptions(', or any free port when it is taken'),
  {
    name: 'rate',
    kind: 'string',
    parse: positiveRate,
    unit: 'B/s',
    describe: 'uplink cap when serving: 100Mb or 100Mbit (bits/s), 12MB or 12MB/s (bytes/s)',
  },
  { name: 'reuse', kind: 'boolean', default: false, describe: 'hash the target first; fetch only slices that differ' },
  { name: 'name', kind: 'string', describe: 'name shown in status (default: hostname)' },
  {
    name: 'window',
    kind: 'number',
    default: 8,
    check: positiveCount,
    describe: 'most requests kept outstanding (sized from the measured rate below that)',
  },
  HASH_WORKERS_OPTION,
  {
    name: 'hash-thread',
    kind: 'boolean',
    hidden: true,
    describe: 'deprecated: slices are verified on worker threads by default (see --hash-workers)',
  },
  {
    name: 'relay-capacity',
    kind: 'number',
    default: 1,
    check: wholeAtLeast(0),
    describe: 'relay sessions: clients served while still downloading (1 = a chain at link rate; 0: none)',
  },
  {
    name: 'connect-timeout',
    kind: 'string',
    default: '5s',
    parse: positiveDuration,
    unit: 'ms',
    describe: 'a server that accepts no connection this fast is unreachable (the peer gets another)',
  },
  {
    name: 'stall',
    kind: 'string',
    default: '30s',
    parse: positiveDuration,
    unit: 'ms',
    describe: 'a server silent this long is lost',
  },
  {
    name: 'min-rate',
    kind: 'string',
    default: '64KiB/s',
    parse: (v: string) => parseRate(v),
    unit: 'B/s',
    describe: 'a server sending slower than this over 10 s of waiting is left for another (0: never)',
  },
  { name: 'report', kind: 'string', describe: 'write the result as JSON to this file' },
  {
    name: 'fault',
    kind: 'string',
    hidden: true,
    describe: 'fault injection when serving: corrupt-every:N | corrupt-once:I,J',
    // A test's flag only: never from CASCADE_FAULT or cascade.fault (boot media must not corrupt).
    flagOnly: true,
  },
  {
    name: 'trust',
    kind: 'list',
    describe: 'accept only manifests signed by this public key (ed25519:… or a .pub file); repeatable',
    group: 'Security:',
  },
  { name: 'force', kind: 'boolean', default: false, describe: 'write even to a mounted or system device' },
  { name: 'on-complete', kind: 'string', describe: 'shell command run once imaged (only then), e.g. reboot' },
  {
    name: 'on-failure',
    kind: 'string',
    describe: 'shell command run when the peer ends without its image (failed, incomplete, no coordinator found)',
  },
  {
    name: 'discovery-port',
    kind: 'number',
    default: DISCOVERY_PORT,
    check: port,
    describe: 'UDP port to find a coordinator on',
  },
  {
    name: 'discovery-timeout',
    kind: 'string',
    default: '10m',
    parse: positiveDuration,
    unit: 'ms',
    describe: 'give up searching after this',
  },
  ...CLIENT_SECURITY_OPTIONS,
  ...LOG_OPTIONS,
] as const satisfies OptionTable;
