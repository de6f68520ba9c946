import { CascadeError, type CoordinatorMessageOf } from '@cascade/common';
import type { SliceFetchResult } from '../fetch/slice-client.js';

type Assign = CoordinatorMessageOf<'assign'>;

/** Tries of a moved transfer whose new server still counts the client it moved away (ERR_SERVER_FULL). */
const FULL_TRIES = 10;
/** Wait before each such try, growing by this much. */
const FULL_STEP_MS = 100;

/**
 * Mid-transfer moves (issue 14): the coordinator may tell a transferring peer `assign {move:
 * true}`. The running fetch is then aborted with ERR_MOVED — like a lost server, verified slices
 * kept and in-flight ones put back, but without a `failed` report and without backoff — and the
 * peer fetches from the new server at once. One switch per transfer: `begin` when a transfer
 * starts, `request` on a move, `end` when the transfer ended.
 */
export class TransferMoves {
  private ctl: AbortController | null = null;
  private next: Assign | null = null;

  /** A transfer starts: its abort signal (the peer's stop, or a move). */
  begin(stop: AbortSignal): AbortSignal {
    this.ctl = new AbortController();
    this.next = null;
    return AbortSignal.any([stop, this.ctl.signal]);
  }

  /** A move while a transfer runs: remembered, and the fetch aborted. False when none runs. */
  request(m: Assign): boolean {
    if (!this.ctl) return false;
    this.next = m;
    if (!this.ctl.signal.aborted) this.ctl.abort(new CascadeError('ERR_MOVED', `moved to ${m.server.name}`));
    return true;
  }

  /** The transfer ended: the move to follow, if one came. */
  end(): Assign | null {
    const next = this.next;
    this.next = null;
    this.ctl = null;
    return next;
  }
}

/**
 * Fetch from the server a move named: the coordinator freed our slot there at once, but the
 * client it moved away may still hold it for a moment (ERR_SERVER_FULL, nothing fetched), so try
 * again a few times before the result stands.
 */
export async function fetchAfterMove(
  fetch: () => Promise<SliceFetchResult>,
  sleep: (ms: number) => Promise<void>,
): Promise<SliceFetchResult> {
  for (let i = 1; ; i++) {
    const r = await fetch();
    const full = r.slices === 0 && (r.error?.remoteCode ?? r.error?.code) === 'ERR_SERVER_FULL';
    if (!full || i >= FULL_TRIES) return r;
    await sleep(FULL_STEP_MS * i);
  }
}
