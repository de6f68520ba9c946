import type { FileHandle } from 'node:fs/promises';
import { slicePieces, type DigestPool, type Manifest } from '@cascade/common';
import type { PeerOptions } from '../session/peer-options.js';
import type { SliceStore } from '../slices/slice-store.js';
import { accountTarget } from './account-target.js';
import { assertTargetFree } from './target-in-use.js';
import { checkDeviceTarget, checkTargetPlace, openTarget, syncTarget, writePayload } from './target.js';

/** The target once opened and accounted for: what it holds, and how to write it. */
export interface PeerTarget {
  readonly store: SliceStore;
  /** Slices found already correct (--reuse). */
  readonly reused: number;
  /** The open file, for serving from it (stubs may leave it undefined). */
  readonly fh: FileHandle | undefined;
  /** Write a verified slice's payload where its pieces land in the image. */
  write(index: number, chunks: Buffer[]): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface TargetPart {
  /**
   * Before anything else: refuse a target under /dev that is not an existing block device, and a
   * mounted or system device (unless --force).
   */
  checkFree(): Promise<void>;
  open(manifest: Manifest, onHashing: () => void): Promise<PeerTarget>;
}

/**
 * A file or block device: positional writes, reuse of what it already holds (hashed on `hasher`'s
 * threads when given, as many slices at once as they take; else inline).
 */
export function fileTarget(
  init: Pick<PeerOptions, 'target' | 'force' | 'reuse'>,
  hasher: DigestPool | null = null,
): TargetPart {
  return {
    checkFree: async () => {
      await checkDeviceTarget(init.target);
      await checkTargetPlace(init.target);
      await assertTargetFree(init.target, init.force);
    },
    open: async (manifest, onHashing) => {
      const t = await openTarget(init.target, manifest, { force: init.force ?? false });
      try {
        const hashing = hasher ? { hash: hasher.digest, hashers: hasher.slicesAtOnce(manifest.digest) } : {};
        const { store, reused } = await accountTarget(t, manifest, {
          reuse: init.reuse ?? false,
          onHashing,
          ...hashing,
        });
        return {
          store,
          reused,
          fh: t.fh,
          write: (index, chunks) => writePayload(t, slicePieces(manifest, index), chunks),
          sync: () => syncTarget(t),
          close: () => t.fh.close().catch(() => undefined),
        };
      } catch (err) {
        await t.fh.close().catch(() => undefined);
        throw err;
      }
    },
  };
}
