import { DIGEST_ALGORITHMS, ZSTD_DEFAULT_LEVEL, ZSTD_MAX_LEVEL } from '@cascade/common';
import { positiveCount, positiveRate, positiveSize, wholeBetween, type OptionTable } from './option-table.js';
import {
  CLIENT_SECURITY_OPTIONS,
  coordinatorWithDefault,
  dataPlaneOptions,
  GATING_OPTIONS,
  HASH_WORKERS_OPTION,
  LOG_OPTIONS,
} from './shared-options.js';

/**
 * Every option of `cascade seed` (the IMAGE positional aside: it is always given). Each is also a
 * CASCADE_* variable (e.g. from a systemd EnvironmentFile) and a cascade.* kernel parameter.
 */
export const SEED_OPTIONS = [
  coordinatorWithDefault('coordinator URL'),
  {
    name: 'session',
    kind: 'string',
    describe: "session name (default: the broadcast address of the coordinator's subnet, as peers use)",
  },
  {
    name: 'capacity',
    kind: 'number',
    check: positiveCount,
    describe: 'clients served at once (default 2; 1 with --relay: one full-rate chain)',
  },
  ...dataPlaneOptions(''),
  {
    name: 'rate',
    kind: 'string',
    parse: positiveRate,
    unit: 'B/s',
    describe: 'uplink cap: 100Mb or 100Mbit (bits/s), 12MB or 12MB/s (bytes/s)',
  },
  {
    name: 'slice',
    kind: 'string',
    parse: positiveSize,
    unit: 'B',
    describe: 'slice size (default 4MiB; 1MiB with --relay)',
  },
  {
    name: 'relay',
    kind: 'boolean',
    default: false,
    describe: 'relay mode: peers serve each verified slice while still downloading (a streaming chain)',
  },
  {
    name: 'start',
    kind: 'string',
    choices: ['now', 'manual'],
    describe: 'manual: wait for "cascade start"',
    group: 'Session gating:',
  },
  ...GATING_OPTIONS,
  { name: 'name', kind: 'string', describe: 'name shown in status' },
  {
    name: 'compress',
    kind: 'number',
    default: ZSTD_DEFAULT_LEVEL,
    check: wholeBetween(0, ZSTD_MAX_LEVEL),
    describe: `zstd level slices are compressed at, once, ahead of the stream (0: send them as they are; 1-${ZSTD_MAX_LEVEL})`,
  },
  {
    name: 'whole-disk',
    kind: 'boolean',
    default: false,
    describe: 'send every byte of the image, not only the blocks its filesystems use (ext2/3/4, NTFS, FAT)',
  },
  {
    name: 'verify-reads',
    kind: 'boolean',
    default: false,
    describe: 'check every slice read against its digest before sending it (always on for a block device)',
  },
  HASH_WORKERS_OPTION,
  {
    name: 'cache-dir',
    kind: 'string',
    describe: 'folder for the manifest cache (default: beside the image), e.g. a systemd CacheDirectory',
  },
  { name: 'end-report', kind: 'string', describe: 'when the session ends, write its roster and summary (JSON) here' },
  // A test's flag only: never from CASCADE_FAULT or cascade.fault.
  {
    name: 'fault',
    kind: 'string',
    hidden: true,
    flagOnly: true,
    describe: 'fault injection: corrupt-every:N | corrupt-once:I,J',
  },
  { name: 'sign-key', kind: 'string', describe: 'sign the manifest (key from cascade keygen)', group: 'Security:' },
  {
    name: 'digest',
    kind: 'string',
    choices: DIGEST_ALGORITHMS,
    default: 'md5',
    describe: 'per-slice digest',
    group: 'Security:',
  },
  ...CLIENT_SECURITY_OPTIONS,
  ...LOG_OPTIONS,
] as const satisfies OptionTable;
