import { isIP } from 'node:net';
import { CascadeError } from '../errors.js';

/**
 * The address a server tells the coordinator to hand out: an explicit `advertise`, else the
 * address it bound, else (bound to a wildcard) the address its control connection leaves from.
 */
export function advertisedHost(bound: string, advertise: string | undefined, controlLocal: string | undefined): string {
  if (advertise) return parseAdvertise(advertise).host;
  if (bound !== '0.0.0.0' && bound !== '::') return bound;
  return controlLocal?.replace(/^::ffff:/, '') ?? '127.0.0.1';
}

/**
 * `--advertise HOST[:PORT]` (`[v6]:PORT` for IPv6): what clients dial, for NAT and multi-homed
 * hosts. Without a port, the bound port is advertised.
 */
export function parseAdvertise(text: string): { host: string; port?: number } {
  if (isIP(text) === 6) return { host: text };
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const plain = /^([^:[\]]+)(?::(\d+))?$/.exec(text);
  const m = v6 ?? plain;
  const port = m?.[2] === undefined ? undefined : Number(m[2]);
  if (!m?.[1] || (port !== undefined && (port < 1 || port > 65535)))
    throw new CascadeError('ERR_BAD_CONFIG', `--advertise: expected HOST or HOST:PORT, got "${text}"`);
  return { host: m[1], ...(port !== undefined ? { port } : {}) };
}

/** Host and port to advertise for a server bound at `bound` (see advertisedHost, parseAdvertise). */
export function advertisedEndpoint(
  bound: { host: string; port: number },
  advertise: string | undefined,
  controlLocal: string | undefined,
): { host: string; port: number } {
  const port = advertise ? (parseAdvertise(advertise).port ?? bound.port) : bound.port;
  return { host: advertisedHost(bound.host, advertise, controlLocal), port };
}
