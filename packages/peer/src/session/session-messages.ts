import {
  parseManifest,
  type CascadeError,
  type ClientMessageOf,
  verifyManifestSignature,
  type CoordinatorMessageOf,
  type Logger,
  type Manifest,
} from '@cascade/common';
import type { KeyObject } from 'node:crypto';

/**
 * The image a `session` message offers, if the peer should take it: null for an invalid manifest
 * (a remote fault: ignored) or when the peer already has its image. With `trust`, an image not
 * signed by a trusted key throws (ERR_MANIFEST_*): nothing was opened or written yet.
 */
export function acceptSession(
  m: CoordinatorMessageOf<'session'>,
  current: Manifest | null,
  trust: readonly KeyObject[] | undefined,
  log: Logger,
): { manifest: Manifest; relay: boolean } | null {
  let manifest: Manifest;
  try {
    manifest = parseManifest(m.manifest);
  } catch (err) {
    log.error({ err }, 'coordinator sent an invalid manifest; ignoring it');
    return null;
  }
  if (current) {
    if (current.imageId !== manifest.imageId)
      log.warn({ imageId: manifest.imageId }, 'session now offers another image; keeping ours');
    return null;
  }
  if (trust) verifyManifestSignature(manifest, trust);
  const { name, imageId, size } = manifest;
  log.info({ image: name, imageId, size, slices: manifest.digests.length }, 'session open');
  return { manifest, relay: m.options.relay === true };
}

/**
 * Goodbye: a failure of our own carries its code and reason, so the roster shows why; a stop or
 * an ended session says just that.
 */
export function leaveMessage(
  ended: { ok: true } | { ok: false; error: CascadeError } | null | undefined,
  stopReason: string | null,
  sessionEndReason: string,
): ClientMessageOf<'leave'> {
  const reason = stopReason ?? (sessionEndReason || 'stopping');
  if (!ended || ended.ok || stopReason) return { type: 'leave', reason };
  return { type: 'leave', reason: ended.error.message.slice(0, 1024), code: ended.error.code };
}

/** Why a stopped peer has no image, and what it kept: verified slices a re-run with --reuse keeps. */
export function stoppedMessage(reason: string, store: { heldSlices: number; count: number } | undefined): string {
  const held =
    store && store.heldSlices > 0
      ? `${store.heldSlices} of ${store.count} slices verified and kept on the target; run again with --reuse to fetch only the rest`
      : 'nothing fetched yet';
  return `stopped (${reason}) before the image was complete: ${held}`;
}

/** A client our rate floor dropped (issue 29, finding 4): the coordinator gives its slot to the next client. */
export function droppedReport(client: string): ClientMessageOf<'dropped'> {
  return { type: 'dropped', client, code: 'ERR_CLIENT_TOO_SLOW' };
}
