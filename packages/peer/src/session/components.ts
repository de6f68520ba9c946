import type { FileHandle } from 'node:fs/promises';
import {
  controlClientFactory,
  DigestPool,
  type ControlFactory,
  type DigestAlgorithm,
  type Logger,
  type Manifest,
} from '@cascade/common';
import { helloIdentity } from '../machine/machine-identity.js';
import { PeerServing } from '../serve/peer-serving.js';
import type { PeerOptions } from './peer-result.js';
import { fetchSlices, type SliceFetchOptions, type SliceFetchResult } from '../fetch/slice-client.js';
import type { SliceStore } from '../slices/slice-store.js';
import { accountTarget } from '../target/account-target.js';
import { assertTargetFree } from '../target/target-in-use.js';
import { checkDeviceTarget, checkTargetPlace, openTarget, syncTarget, writeSlice } from '../target/target.js';

/** Time as the peer sees it (tests pass a clock that does not wait). */
export interface PeerClock {
  now(): number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Call `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

/** The target once opened and accounted for: what it holds, and how to write it. */
export interface PeerTarget {
  readonly store: SliceStore;
  /** Slices found already correct (--reuse). */
  readonly reused: number;
  /** The open file, for serving from it (stubs may leave it undefined). */
  readonly fh: FileHandle | undefined;
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

export interface ServeOffer {
  host: string;
  port: number;
  capacity: number;
  relay: boolean;
}

/** The peer's slice server (PeerServing, or a stub). */
export interface ServingPart {
  ticketKey: Uint8Array | null;
  readonly started: boolean;
  /** Bind the serving address now (at startup), so a taken port is reported first. */
  bind(): Promise<void>;
  start(o: {
    relay: boolean;
    capacity: number;
    store: SliceStore;
    manifest: Manifest;
    target: PeerTarget;
  }): Promise<void>;
  offer(controlAddress: string | undefined): ServeOffer | null;
  /** Stop serving; resolves with the bytes served. */
  close(): Promise<number>;
}

export type Fetcher = (o: SliceFetchOptions) => Promise<SliceFetchResult>;

/** Everything a peer talks to, injected: libp2p's (components, init) shape. */
export interface PeerComponents {
  logger: Logger;
  clock: PeerClock;
  control: ControlFactory;
  fetcher: Fetcher;
  target: TargetPart;
  serving: ServingPart;
  /** Hash a slice (a pool of worker threads, --hash-workers); default inline. */
  digest?: (algorithm: DigestAlgorithm, chunks: readonly Buffer[]) => Promise<string>;
  /** Release what the parts hold (worker threads). */
  release?: () => Promise<void>;
}

export const systemClock: PeerClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted || ms <= 0) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    }),
  every: (ms, fn) => {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  },
};

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
          write: (index, chunks) => writeSlice(t, index * manifest.sliceSize, chunks),
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

/** The parts a real peer runs with. */
export function defaultPeerComponents(
  init: PeerOptions,
  me: { id: string; name: string; onClientLeft: () => void },
): PeerComponents {
  const hasher = init.hashWorkers === 0 ? null : new DigestPool(init.hashWorkers);
  return {
    logger: init.logger,
    clock: systemClock,
    control: controlClientFactory({
      url: init.coordinator,
      logger: init.logger,
      hello: { role: 'peer', id: me.id, name: me.name, session: init.session, machine: helloIdentity() },
      token: init.token,
      ca: init.ca,
    }),
    // As many slices verified at once as the pool's threads take (MD5: a batch of lanes each).
    fetcher: hasher ? (o) => fetchSlices({ verifiers: hasher.slicesAtOnce(o.manifest.digest), ...o }) : fetchSlices,
    target: fileTarget(init, hasher),
    serving: new PeerServing({ ...init, serverId: me.id, onClientLeft: me.onClientLeft }),
    ...(hasher ? { digest: hasher.digest, release: () => hasher.close() } : {}),
  };
}
