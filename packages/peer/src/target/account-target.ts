import {
  buildManifest,
  slicePayloadLength,
  slicePieces,
  usedMap,
  type BuildManifestOptions,
  type Manifest,
} from '@cascade/common';
import { SliceStore } from '../slices/slice-store.js';
import { writePayload, type OpenedTarget } from './target.js';

/**
 * What an opened target already holds: with `reuse`, every slice whose digest already matches
 * (its payload — the used bytes of the manifest's map — hashed from the target itself: on
 * `hash`, `hashers` slices at once, when given; else inline); zero slices are written locally
 * (zeros over their used pieces only, never fetched) unless the target is known to read as zeros.
 * Returns the store, its fetch queue ready.
 */
export async function accountTarget(
  target: OpenedTarget,
  manifest: Manifest,
  opts: { reuse: boolean; onHashing?: () => void } & Pick<BuildManifestOptions, 'hash' | 'hashers'>,
): Promise<{ store: SliceStore; reused: number }> {
  const store = new SliceStore(manifest);
  let reused = 0;
  if (opts.reuse) {
    opts.onHashing?.();
    const existing = await buildManifest(target.path, {
      sliceSize: manifest.sliceSize,
      size: manifest.size,
      digest: manifest.digest,
      used: usedMap(manifest),
      ...(opts.hash ? { hash: opts.hash, hashers: opts.hashers ?? 1 } : {}),
    });
    existing.digests.forEach((d, i) => {
      if (d !== manifest.digests[i]) return;
      store.markHeld(i);
      if (!store.zero.get(i)) reused++;
    });
  }
  for (let i = 0; i < store.count; i++) {
    if (!store.zero.get(i) || store.has(i)) continue;
    if (!target.zeroFilled)
      await writePayload(target, slicePieces(manifest, i), [zeros(slicePayloadLength(manifest, i))]);
    store.markHeld(i);
  }
  store.resetQueue();
  return { store, reused };
}

let zeroBytes = Buffer.alloc(0);
/** `n` zero bytes (one buffer kept, grown to the largest payload asked for). */
function zeros(n: number): Buffer {
  if (zeroBytes.length < n) zeroBytes = Buffer.alloc(n);
  return zeroBytes.subarray(0, n);
}
