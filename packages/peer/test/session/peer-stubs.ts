import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildManifest,
  CascadeError,
  MIN_SLICE_SIZE,
  silentLogger,
  type ClientMessage,
  type ClientMessageOf,
  type ControlHandlers,
  type CoordinatorMessage,
  type Manifest,
  type RoleControl,
} from '@cascade/common';
import { Peer } from '../../src/session/peer.js';
import type { Fetcher, PeerComponents, PeerTarget, ServingPart } from '../../src/session/components.js';
import type { PeerOptions } from '../../src/session/peer-options.js';
import type { SliceFetchOptions, SliceFetchResult } from '../../src/fetch/slice-client.js';
import { SliceStore } from '../../src/slices/slice-store.js';
import { noise } from '../../../common/test/fixtures.js';

/** A 4-slice manifest built from noise (no zero slices). */
export async function smallManifest(): Promise<Manifest> {
  const dir = await mkdtemp(join(tmpdir(), 'cascade-peer-stub-'));
  try {
    const path = join(dir, 'img');
    await writeFile(path, noise(4 * MIN_SLICE_SIZE, 42));
    return await buildManifest(path, { sliceSize: MIN_SLICE_SIZE });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Wait (bounded) until `cond` holds. */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** The coordinator as the peer sees it: records what the peer sends, delivers what the test says. */
export class StubControl implements RoleControl {
  readonly sent: ClientMessage[] = [];
  handlers: ControlHandlers | null = null;
  localAddress: string | undefined = '127.0.0.1';
  private started: { resolve: () => void; reject: (e: Error) => void } | null = null;
  closed = false;

  start(): Promise<void> {
    return new Promise((resolve, reject) => (this.started = { resolve, reject }));
  }
  send(msg: ClientMessage): boolean {
    if (this.closed || !this.handlers) return false;
    this.sent.push(msg);
    return true;
  }
  close(): void {
    this.closed = true;
  }
  /** The coordinator welcomes the peer. */
  welcome(): void {
    this.started?.resolve();
    this.handlers?.onConnected();
  }
  /** The first connection is refused with `err`. */
  refuse(err: Error): void {
    this.started?.reject(err);
  }
  deliver(m: CoordinatorMessage): void {
    this.handlers?.onMessage(m);
  }
  of<T extends ClientMessage['type']>(type: T): Array<ClientMessageOf<T>> {
    return this.sent.filter((m): m is ClientMessageOf<T> => m.type === type);
  }
}

export class StubServing implements ServingPart {
  ticketKey: Uint8Array | null = null;
  started = false;
  bound = false;
  bindError: Error | null = null;
  startError: Error | null = null;
  starts: Array<{ relay: boolean; capacity: number }> = [];
  async bind(): Promise<void> {
    await Promise.resolve();
    if (this.bindError) throw this.bindError;
    this.bound = true;
  }
  async start(o: { relay: boolean; capacity: number }): Promise<void> {
    await Promise.resolve();
    if (this.startError) throw this.startError;
    this.started = true;
    this.starts.push({ relay: o.relay, capacity: o.capacity });
  }
  offer(): { host: string; port: number; capacity: number; relay: boolean } | null {
    const last = this.starts.at(-1);
    return last ? { host: '127.0.9.9', port: 9999, ...last } : null;
  }
  async close(): Promise<number> {
    await Promise.resolve();
    return 0;
  }
}

/** A target in memory: a real SliceStore, writes that land (or fail when told to). */
export function stubTarget(manifest: Manifest, o: { failWrites?: boolean } = {}): PeerTarget {
  const store = new SliceStore(manifest);
  store.resetQueue();
  return {
    store,
    reused: 0,
    fh: undefined,
    write: async () => {
      await Promise.resolve();
      if (o.failWrites) throw new Error('disk on fire');
    },
    sync: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

/** A fetch that ends at once with `error` (nothing received). */
export function failing(error: CascadeError): (o: SliceFetchOptions) => Promise<SliceFetchResult> {
  return async () => {
    await Promise.resolve();
    return { slices: 0, bytes: 0, badSlices: [], error };
  };
}

/** A fetch that takes every slice the peer still wants, as a good server would. */
export async function fetchAll(o: SliceFetchOptions): Promise<SliceFetchResult> {
  let slices = 0;
  for (let i = o.next(); i !== undefined; i = o.next()) {
    await o.onVerified(i, [Buffer.alloc(1)]);
    slices++;
  }
  return { slices, bytes: slices, badSlices: [], error: null };
}

export interface Rig {
  peer: Peer;
  control: StubControl;
  serving: StubServing;
  target: PeerTarget;
  manifest: Manifest;
  fetches: SliceFetchOptions[];
  sleeps: number[];
  /** What the next fetches do, in order; the last one repeats. */
  script: Fetcher[];
  run: Promise<unknown>;
}

/** A peer on stub parts, running. `run` settles with the result or the error (never rejects). */
export async function rig(
  o: { init?: Partial<PeerOptions>; target?: (m: Manifest) => PeerTarget; openError?: Error; bindError?: Error } = {},
): Promise<Rig> {
  const manifest = await smallManifest();
  const control = new StubControl();
  const serving = new StubServing();
  serving.bindError = o.bindError ?? null;
  const target = (o.target ?? stubTarget)(manifest);
  const fetches: SliceFetchOptions[] = [];
  const sleeps: number[] = [];
  const script: Fetcher[] = [fetchAll];
  const components: PeerComponents = {
    logger: silentLogger(),
    clock: {
      now: () => Date.now(),
      sleep: async (ms) => void sleeps.push(ms),
      every: () => () => undefined,
    },
    control: (h) => {
      control.handlers = h;
      return control;
    },
    fetcher: (f) => {
      fetches.push(f);
      const next = script.length > 1 ? script.shift()! : script[0]!;
      return next(f);
    },
    target: {
      checkFree: () => Promise.resolve(),
      open: async () => {
        await Promise.resolve();
        if (o.openError) throw o.openError;
        return target;
      },
    },
    serving,
  };
  const init: PeerOptions = {
    logger: silentLogger(),
    coordinator: 'ws://127.0.0.1:1',
    session: 'lab',
    target: '/nowhere',
    capacity: 3,
    listen: { host: '127.0.9.9', port: 0 },
    // What `cascade peer`'s option table gives by default.
    window: 8,
    connectTimeoutMs: 5000,
    stallTimeoutMs: 30_000,
    minRate: 64 * 1024,
    relayCapacity: 1,
    ...o.init,
  };
  const peer = new Peer(init, components);
  const run = peer.run().then(
    (r) => r,
    (e: unknown) => e,
  );
  return { peer, control, serving, target, manifest, fetches, sleeps, script, run };
}

/** Session open: the coordinator sends the manifest; the peer prepares and asks to join. */
export async function openSession(r: Rig, options: { relay?: boolean } = {}): Promise<void> {
  await until(() => r.control.handlers !== null, 'the control connection');
  r.control.welcome();
  r.control.deliver({ type: 'session', session: 'lab', manifest: { ...r.manifest }, options });
  await until(() => r.control.of('want').length > 0, 'want');
}

let assignCount = 0;
export function assign(r: Rig, server = 'srv-1'): void {
  r.control.deliver({
    type: 'assign',
    server: { id: server, name: server, host: '127.0.9.1', port: 1 + (assignCount++ % 1000) },
    ticket: 't',
  });
}
