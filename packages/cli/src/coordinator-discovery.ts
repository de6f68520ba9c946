import type { Logger } from '@cascade/common';
import { DiscoveryResponder } from '@cascade/coordinator';

export interface DiscoveryArgs {
  discovery: boolean;
  'discovery-port': number;
  'discovery-url'?: string;
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
