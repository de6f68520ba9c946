import { parseDuration, parseRate, parseSize, type ConfigKey } from '@cascade/common';
import { parseListen } from './args.js';

/**
 * The seeder settings that may come from CASCADE_* variables (e.g. a systemd EnvironmentFile)
 * or the kernel command line. The IMAGE positional is not among them: it is always given.
 */
export const SEED_KEYS: ConfigKey[] = [
  { name: 'coordinator', kind: 'string' },
  { name: 'session', kind: 'string' },
  { name: 'capacity', kind: 'number' },
  { name: 'listen', kind: 'string', check: (v) => void parseListen(v, 'listen') },
  { name: 'advertise', kind: 'string' },
  { name: 'rate', kind: 'string', check: (v) => void parseRate(v) },
  { name: 'slice', kind: 'string', check: (v) => void parseSize(v) },
  { name: 'name', kind: 'string' },
  { name: 'start-count', kind: 'number' },
  { name: 'start-after', kind: 'string', check: (v) => void parseDuration(v) },
  { name: 'start', kind: 'string' },
  { name: 'end-count', kind: 'number' },
  { name: 'linger', kind: 'string', check: (v) => void parseDuration(v) },
];
