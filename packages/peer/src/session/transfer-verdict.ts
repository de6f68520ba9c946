import { CascadeError, type ClientMessageOf } from '@cascade/common';

/**
 * What a transfer that ended early means for the peer, by where its cause lies:
 * - `local`: the peer's own fault (its target failed): the peer ends;
 * - `bad-server`: the server sent slices that failed verification: counted, the peer rejoins,
 *   and only many of these make the image unverifiable;
 * - `rejoin`: a network or remote fault (unreachable, reset, stalled, refused, protocol
 *   breach): reported as what it is; the peer rejoins the queue after a short backoff;
 * - `stopped`: the peer itself is stopping.
 */
export type TransferVerdict = 'local' | 'bad-server' | 'rejoin' | 'stopped';

export function verdictOf(err: CascadeError): TransferVerdict {
  switch (err.code) {
    case 'ERR_TARGET_UNUSABLE':
    case 'ERR_TARGET_TOO_SMALL':
      return 'local';
    case 'ERR_STOPPED':
      return 'stopped';
    case 'ERR_SERVER_BAD':
      return 'bad-server';
    default:
      return 'rejoin';
  }
}

/** Wait before the next transfer after `streak` failed ones in a row: none after one, then 250 ms doubling to 5 s. */
export function backoffMs(streak: number): number {
  if (streak <= 1) return 0;
  return Math.min(5000, 250 * 2 ** (streak - 2));
}

/** The `failed` report of a transfer: its code as what it was (a server's own code as remoteCode). */
export function failedReport(server: string, err: CascadeError, badSlices: number[]): ClientMessageOf<'failed'> {
  const remote = err.remoteCode ? { remoteCode: err.remoteCode } : {};
  return { type: 'failed', server, code: err.code, ...remote, reason: err.message.slice(0, 1024), badSlices };
}

/**
 * Transfers ended on bad slices, counted per server (issue 29, finding 1): bad servers that keep
 * appearing (fresh ids) each cost a transfer or two and are reported, but never end the peer;
 * only one server failing it again and again does (its image cannot be verified). Bounded: the
 * oldest server is forgotten past `limit` of them.
 */
export class BadServerBudget {
  private readonly counts = new Map<string, number>();
  constructor(private readonly limit = 1024) {}

  /** Count one more bad transfer from `server`; how many it has caused. */
  count(server: string): number {
    const n = (this.counts.get(server) ?? 0) + 1;
    this.counts.delete(server);
    this.counts.set(server, n);
    if (this.counts.size > this.limit) this.counts.delete(this.counts.keys().next().value!);
    return n;
  }
}

/** Too many transfers from one server ended on bad slices: the image cannot be verified (exit 4). */
export function verifyFailed(transfers: number, last: CascadeError): CascadeError {
  const why = `${transfers} transfers from one server ended on bad slices (last: ${last.message})`;
  return new CascadeError('ERR_VERIFY_FAILED', `image could not be verified: ${why}`);
}
