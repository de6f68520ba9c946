import { DISCOVERY_PORT, type ConfigKey, type Logger } from '@cascade/common';
import { DiscoveryResponder } from '@cascade/coordinator';
import type { Argv } from 'yargs';

export interface DiscoveryArgs {
  discovery: boolean;
  'discovery-port': number;
  'discovery-url'?: string;
}

export const DISCOVERY_KEYS: ConfigKey[] = [
  { name: 'discovery', kind: 'boolean' },
  { name: 'discovery-port', kind: 'number' },
  { name: 'discovery-url', kind: 'string' },
];

/** --discovery, --discovery-port, --discovery-url for `cascade coordinator`. */
export function discoveryOptions<T>(y: Argv<T>): Argv<T & DiscoveryArgs> {
  return y
    .option('discovery', {
      type: 'boolean',
      default: false,
      describe: 'answer peers that search by UDP broadcast (binds 0.0.0.0:PORT)',
      group: 'Discovery:',
    })
    .option('discovery-port', { type: 'number', default: DISCOVERY_PORT, describe: 'UDP port', group: 'Discovery:' })
    .option('discovery-url', {
      type: 'string',
      describe: "URL to answer with (default: this host's address on the asker's subnet)",
      group: 'Discovery:',
    }) as unknown as Argv<T & DiscoveryArgs>;
}

const WILDCARD = new Set(['0.0.0.0', '::', '']);

/** Start the discovery responder when asked for; answers with the control URL peers should use. */
export async function startDiscovery(
  argv: DiscoveryArgs,
  bound: { host: string; port: number; url: string },
  logger: Logger,
): Promise<DiscoveryResponder | null> {
  if (!argv.discovery) return null;
  const url = argv['discovery-url'] ?? (WILDCARD.has(bound.host) ? undefined : bound.url);
  const responder = new DiscoveryResponder({
    logger,
    host: '0.0.0.0',
    port: argv['discovery-port'],
    controlPort: bound.port,
    ...(url ? { url } : {}),
  });
  const at = await responder.start();
  process.stdout.write(`cascade coordinator answering discovery on udp ${at.host}:${at.port}\n`);
  return responder;
}
