import {
  CascadeError,
  DISCOVERY_PORT,
  ipv4Subnets,
  subnetContaining,
  type Ipv4Subnet,
  type Logger,
} from '@cascade/common';
import { parseDurationArg } from './args.js';

export interface EndpointArgs {
  coordinator?: string;
  session?: string;
  'discovery-port': number;
  'discovery-timeout': string;
}

/**
 * The session name used when none is given: the broadcast address of the subnet the coordinator
 * is on (or of the first local subnet), as the older lab imaging tools did.
 */
export function defaultSessionName(coordinatorHost: string | undefined, subnets: Ipv4Subnet[] = ipv4Subnets()): string {
  const s = (coordinatorHost && subnetContaining(subnets, coordinatorHost)) || subnets[0];
  if (!s) throw new CascadeError('ERR_BAD_CONFIG', 'no --session given and no IPv4 network to name one after');
  return s.broadcast;
}

export function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    throw new CascadeError('ERR_BAD_CONFIG', `--coordinator: "${url}" is not a URL (ws://HOST:PORT)`);
  }
}

/** Coordinator by discovery when none is given; session from the subnet when none is given. */
export async function resolvePeerEndpoints(
  a: EndpointArgs,
  logger: Logger,
): Promise<{ coordinator: string; session: string }> {
  const port = a['discovery-port'] ?? DISCOVERY_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new CascadeError('ERR_BAD_CONFIG', `--discovery-port: expected 1-65535, got ${port}`);
  let coordinator = a.coordinator;
  let near = coordinator ? hostOf(coordinator) : undefined;
  if (!coordinator) {
    // Loaded only to discover: `cascade seed` uses this module for its default session name.
    const { discoverCoordinator } = await import('@cascade/peer');
    const found = await discoverCoordinator({
      logger,
      port,
      timeoutMs: parseDurationArg(a['discovery-timeout'], '--discovery-timeout'),
      ...(a.session ? { session: a.session } : {}),
    });
    coordinator = found.url;
    near = found.from;
  }
  return { coordinator, session: a.session ?? defaultSessionName(near) };
}
