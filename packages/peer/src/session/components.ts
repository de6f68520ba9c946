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
import type { PeerOptions } from './peer-options.js';
import type { PeerTarget, TargetPart } from '../target/file-target.js';
import { fetchSlices, type SliceFetchOptions, type SliceFetchResult } from '../fetch/slice-client.js';
import { fileTarget } from '../target/file-target.js';
import type { SliceStore } from '../slices/slice-store.js';

export type { PeerTarget, TargetPart } from '../target/file-target.js';

/** Time as the peer sees it (tests pass a clock that does not wait). */
export interface PeerClock {
  now(): number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Call `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
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

/** The parts a real peer runs with. */
export function defaultPeerComponents(
  init: PeerOptions,
  me: { id: string; name: string; onClientLeft: (client: string, reason: string) => void },
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
    // As many slices verified at once as the pool's threads take (MD5: a batch of lanes each);
    // compressed slices decompressed and verified on the same threads.
    fetcher: hasher
      ? (o) =>
          fetchSlices({
            verifiers: hasher.slicesAtOnce(o.manifest.digest),
            decompress: (a, wire, n, into) => hasher.digestCompressed(a, wire, n, into),
            ...o,
          })
      : fetchSlices,
    target: fileTarget(init, hasher),
    serving: new PeerServing({ ...init, serverId: me.id, onClientLeft: me.onClientLeft }),
    ...(hasher ? { digest: hasher.digest, release: () => hasher.close() } : {}),
  };
}
