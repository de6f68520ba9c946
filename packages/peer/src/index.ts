/**
 * @cascade/peer — a lab machine's role: join, pull and verify slices, write the target,
 * then serve others. The whole public surface, by folder:
 * - session/: the Peer role, its options, result, phases and injected parts;
 * - fetch/: pulling slices from one server (fetchSlices);
 * - slices/: what the peer holds and still needs (SliceStore);
 * - target/: the disk or file written;
 * - machine/: discovery of a coordinator, the machine's identity, end-of-run hooks.
 *
 * @example
 * ```ts
 * const peer = new Peer({ logger, coordinator: 'ws://10.0.0.1:7770', session: 'lab-a', target: '/dev/sda',
 *   capacity: 3, listen: { host: '0.0.0.0', port: 0 }, window: 8, connectTimeoutMs: 5000,
 *   stallTimeoutMs: 30_000, minRate: 64 * 1024, relayCapacity: 1 });
 * const result = await peer.run(); // until the session ends
 * ```
 */
export * from './session/peer.js';
export type { PeerOptions } from './session/peer-options.js';
export type { PeerResult, TransferRecord } from './session/peer-result.js';
export type { PeerPhase, PeerState } from './session/peer-state.js';
export * from './session/components.js';
export * from './session/transfer-verdict.js';
export * from './session/rate-meter.js';
export * from './session/progress.js';
export * from './fetch/slice-client.js';
export * from './slices/slice-store.js';
export * from './target/target.js';
export * from './target/account-target.js';
export * from './target/file-target.js';
export * from './target/target-in-use.js';
export * from './machine/discovery.js';
export * from './machine/on-complete.js';
export * from './machine/finish-hooks.js';
export * from './machine/machine-identity.js';
