/**
 * The address a server tells the coordinator to hand out: an explicit `advertise`, else the
 * address it bound, else (bound to a wildcard) the address its control connection leaves from.
 */
export function advertisedHost(bound: string, advertise: string | undefined, controlLocal: string | undefined): string {
  if (advertise) return advertise;
  if (bound !== '0.0.0.0' && bound !== '::') return bound;
  return controlLocal?.replace(/^::ffff:/, '') ?? '127.0.0.1';
}
