import type { CascadeError } from '@cascade/common';

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
