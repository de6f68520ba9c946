import type { CascadeError, Manifest, ServerRef } from '@cascade/common';
import type { PeerTarget } from './components.js';

/** What every phase after the session opened knows: the image, and whether the session streams. */
interface SessionKnown {
  manifest: Manifest;
  /** The session streams: serve verified slices while still downloading. */
  relay: boolean;
}

/**
 * Where a peer is, with exactly what that phase needs: a handler reads the phase and finds the
 * manifest, the target or the transfer's server there, or knows it has none. No combination the
 * lifecycle cannot reach can be written.
 */
export type PeerState =
  | { phase: 'connecting' }
  /** Our target was refused before we joined: said to the coordinator on connecting, then the end. */
  | { phase: 'refused'; error: CascadeError }
  | ({ phase: 'preparing' } & SessionKnown)
  | ({ phase: 'waiting'; target: PeerTarget } & SessionKnown)
  | ({ phase: 'fetching'; target: PeerTarget; server: ServerRef } & SessionKnown)
  | ({ phase: 'serving'; target: PeerTarget } & SessionKnown)
  /** stop() was called: the transfer in flight is abandoned; `from` is where the peer was. */
  | { phase: 'stopping'; reason: string; from: PeerState }
  | { phase: 'finished' | 'failed'; target: PeerTarget | null; stopReason: string | null };

/** Where a peer is: connecting → preparing → waiting ⇄ fetching → serving → finished (see PeerState). */
export type PeerPhase = PeerState['phase'];

export type PeerEvent =
  | { type: 'refused'; error: CascadeError }
  | ({ type: 'session' } & SessionKnown)
  | { type: 'target-ready'; target: PeerTarget }
  | { type: 'assigned'; server: ServerRef }
  | { type: 'transfer-ended' }
  | { type: 'imaged' }
  | { type: 'stop'; reason: string }
  | { type: 'ended'; ok: boolean };

/**
 * The peer's lifecycle: the one table of which event moves it from which phase, and where to.
 * An event the table does not list for the current phase is refused (transition returns null)
 * and its handler does nothing.
 *
 * | from                        | event          | to        | when, and what the handler does next            |
 * |-----------------------------|----------------|-----------|-------------------------------------------------|
 * | connecting                  | refused        | refused   | own target unusable at startup: tell, then fail |
 * | connecting                  | session        | preparing | a manifest we accept: open the target           |
 * | preparing                   | target-ready   | waiting   | target accounted for: join the queue (`want`)   |
 * | waiting                     | assigned       | fetching  | a server to pull from: one transfer runs        |
 * | fetching                    | transfer-ended | waiting   | whole: `imaged`; else report, rejoin, or move   |
 * | waiting                     | imaged         | serving   | all verified, written, flushed: `done`, serve   |
 * | connecting…serving, refused | stop           | stopping  | SIGINT/SIGTERM: abandon the transfer            |
 * | all but finished, failed    | ended          | finished  | run() resolved: imaged (or stopped once imaged) |
 * | all but finished, failed    | ended          | failed    | run() rejected                                  |
 *
 * Everything else is ignored: an assignment while fetching (a move is handled by the transfer
 * itself), a second session, a transfer's end after a stop, `imaged` after a stop.
 */
export function transition(s: PeerState, e: PeerEvent): PeerState | null {
  switch (e.type) {
    case 'refused':
      return s.phase === 'connecting' ? { phase: 'refused', error: e.error } : null;
    case 'session':
      return s.phase === 'connecting' ? { phase: 'preparing', manifest: e.manifest, relay: e.relay } : null;
    case 'target-ready':
      return s.phase === 'preparing' ? { ...session(s), phase: 'waiting', target: e.target } : null;
    case 'assigned':
      return s.phase === 'waiting' ? { ...session(s), phase: 'fetching', target: s.target, server: e.server } : null;
    case 'transfer-ended':
      return s.phase === 'fetching' ? { ...session(s), phase: 'waiting', target: s.target } : null;
    case 'imaged':
      return s.phase === 'waiting' ? { ...session(s), phase: 'serving', target: s.target } : null;
    case 'stop':
      return s.phase === 'stopping' || terminal(s) ? null : { phase: 'stopping', reason: e.reason, from: s };
    case 'ended':
      if (terminal(s)) return null;
      return {
        phase: e.ok ? 'finished' : 'failed',
        target: targetOf(s),
        stopReason: s.phase === 'stopping' ? s.reason : null,
      };
  }
}

function session(s: SessionKnown): SessionKnown {
  return { manifest: s.manifest, relay: s.relay };
}

function terminal(s: PeerState): boolean {
  return s.phase === 'finished' || s.phase === 'failed';
}

/** The opened target, in the phases that have one. */
export function targetOf(s: PeerState): PeerTarget | null {
  switch (s.phase) {
    case 'waiting':
    case 'fetching':
    case 'serving':
    case 'finished':
    case 'failed':
      return s.target;
    case 'stopping':
      return targetOf(s.from);
    default:
      return null;
  }
}

/** The image of the session, in the phases that know it. */
export function manifestOf(s: PeerState): Manifest | null {
  switch (s.phase) {
    case 'preparing':
    case 'waiting':
    case 'fetching':
    case 'serving':
      return s.manifest;
    case 'stopping':
      return manifestOf(s.from);
    default:
      return null;
  }
}

/** The image is whole and verified: serving, or stopping or ended from there. */
export function imaged(s: PeerState): boolean {
  return s.phase === 'serving' || (s.phase === 'stopping' && imaged(s.from));
}
