import { DISCOVERY_PORT } from '@cascade/common';
// The defaults only (not the whole coordinator): this table is loaded by every `cascade` command.
import { COORDINATOR_DEFAULTS as c, DEFAULT_COORDINATOR_LIMITS as d } from '@cascade/coordinator/coordinator-options';
import { port, positiveCount, positiveDuration, positiveSize, type OptionTable } from './option-table.js';
import { listenOption, LOG_OPTIONS } from './shared-options.js';

const group = 'Security and limits:';
const discovery = 'Discovery:';

/** Every option of `cascade coordinator`; each is also a CASCADE_* variable and a cascade.* parameter. */
export const COORDINATOR_OPTIONS = [
  listenOption('0.0.0.0:7770', 'host:port for ws control and HTTP /status'),
  {
    name: 'ping-interval',
    kind: 'string',
    default: `${c.pingIntervalMs / 1000}s`,
    parse: positiveDuration,
    unit: 'ms',
    describe: 'ws ping interval; a peer silent for two intervals is dropped from the queues',
  },
  { name: 'token-file', kind: 'string', describe: 'session token file (or CASCADE_TOKEN)', group },
  {
    name: 'public-status',
    kind: 'boolean',
    default: false,
    describe: 'with a token: status (and /status) without it',
    group,
  },
  { name: 'tls-cert', kind: 'string', describe: 'certificate (PEM): serve wss:// and https://', group },
  { name: 'tls-key', kind: 'string', describe: 'private key (PEM) of --tls-cert', group },
  {
    name: 'max-connections',
    kind: 'number',
    default: d.maxConnections,
    check: positiveCount,
    describe: 'control connections at once',
    group,
  },
  {
    name: 'max-connections-per-address',
    kind: 'number',
    default: d.maxConnectionsPerAddress,
    check: positiveCount,
    describe: 'control connections at once from one address',
    group,
  },
  {
    name: 'max-message',
    kind: 'string',
    default: `${d.maxMessageBytes / 2 ** 20}MiB`,
    parse: positiveSize,
    unit: 'B',
    describe: 'largest control message',
    group,
  },
  {
    name: 'max-hello',
    kind: 'string',
    default: `${d.maxHelloBytes / 2 ** 10}KiB`,
    parse: positiveSize,
    unit: 'B',
    describe: 'largest message before hello (fragments included)',
    group,
  },
  {
    name: 'max-unfinished-per-address',
    kind: 'string',
    default: `${d.maxBufferedBytesPerAddress / 2 ** 20}MiB`,
    parse: positiveSize,
    unit: 'B',
    describe: 'unfinished control messages the connections of one address may hold together',
    group,
  },
  {
    name: 'max-messages-per-second',
    kind: 'number',
    default: d.maxMessagesPerSecond,
    check: positiveCount,
    describe: 'control messages per second per connection',
    group,
  },
  {
    name: 'message-burst',
    kind: 'number',
    default: d.messageBurst,
    check: positiveCount,
    describe: 'control messages allowed in a burst',
    group,
  },
  {
    name: 'hello-timeout',
    kind: 'string',
    default: `${d.helloTimeoutMs / 1000}s`,
    parse: positiveDuration,
    unit: 'ms',
    describe: 'a connection that has not said hello by then is closed',
    group,
  },
  {
    name: 'discovery',
    kind: 'boolean',
    default: false,
    describe: 'answer peers that search by UDP broadcast (binds 0.0.0.0:PORT)',
    group: discovery,
  },
  {
    name: 'discovery-port',
    kind: 'number',
    default: DISCOVERY_PORT,
    check: port,
    describe: 'UDP port',
    group: discovery,
  },
  {
    name: 'discovery-url',
    kind: 'string',
    describe: "URL to answer with (default: this host's address on the asker's subnet)",
    group: discovery,
  },
  ...LOG_OPTIONS,
] as const satisfies OptionTable;
