import type { CoordinatorMessageOf, Manifest } from '@cascade/common';
import type { SliceFetchOptions, SliceFetchResult } from '../fetch/slice-client.js';
import type { PeerComponents, PeerTarget } from './components.js';
import type { PeerOptions } from './peer-options.js';
import { fetchAfterMove } from './transfer-moves.js';

/** Requests kept outstanding in relay sessions: each hop of the chain can lag at most this many slices. */
const RELAY_WINDOW = 2;

/** What one transfer needs from the peer running it. */
export interface TransferInit {
  parts: Pick<PeerComponents, 'logger' | 'clock' | 'fetcher' | 'digest'>;
  opts: PeerOptions;
  clientId: string;
  /** The transfer's abort signal (the peer's stop, or a move). */
  signal: AbortSignal;
  /** Wait this long first (failed transfers in a row); never before a move. */
  backoffMs: number;
  /** A slice passed its digest check: write it and mark it held. */
  onVerified: (index: number, chunks: Buffer[]) => Promise<void>;
  /** Bytes read from the socket (the peer's receive rate). */
  onReceived: (bytes: number) => void;
}

/**
 * One transfer from the server an `assign` names, into `target`: after the backoff (none for a
 * move), fetch — retried briefly when a move's new server still counts the client it moved away.
 * Resolves with the fetch's result and when it started; never decides what the result means.
 */
export async function runTransfer(
  x: TransferInit,
  m: CoordinatorMessageOf<'assign'>,
  target: PeerTarget,
  manifest: Manifest,
  relay: boolean,
): Promise<{ r: SliceFetchResult; started: number }> {
  const { parts, opts, signal } = x;
  if (!m.move) await parts.clock.sleep(x.backoffMs, signal);
  const started = parts.clock.now();
  const window = opts.window;
  const o: SliceFetchOptions = {
    logger: parts.logger,
    manifest,
    server: m.server,
    ticket: m.ticket,
    session: opts.session,
    clientId: x.clientId,
    localAddress: sourceAddress(opts.listen),
    connectTimeoutMs: opts.connectTimeoutMs,
    // In a relay chain a hop can hold back at most `window` slices: keep it small (latency per hop).
    window: relay ? Math.min(window, RELAY_WINDOW) : window,
    stallTimeoutMs: opts.stallTimeoutMs,
    minRate: opts.minRate,
    next: () => target.store.next(),
    retry: (i) => target.store.retry(i),
    sliceBody: target.store.inflight,
    onCompressedVerified: (i, wire) => target.store.wire.put(i, wire),
    onVerified: x.onVerified,
    signal,
    onReceived: x.onReceived,
    ...(parts.digest ? { digest: parts.digest } : {}),
  };
  const fetch = (): Promise<SliceFetchResult> => parts.fetcher(o);
  const r = m.move ? await fetchAfterMove(fetch, (ms) => parts.clock.sleep(ms, signal)) : await fetch();
  return { r, started };
}

/** The source address for data connections: the --listen host, unless it is a wildcard. */
export function sourceAddress(listen: { host: string }): string | undefined {
  return listen.host === '0.0.0.0' || listen.host === '::' ? undefined : listen.host;
}
