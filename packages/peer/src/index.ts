/**
 * @cascade/peer — a lab machine's role: join, pull and verify slices, write the target,
 * then serve others.
 *
 * @example
 * ```ts
 * const peer = new Peer({ logger, coordinator: 'ws://10.0.0.1:7770', session: 'lab-a',
 *   target: '/dev/sda', capacity: 3, listen: { host: '0.0.0.0', port: 0 } });
 * const result = await peer.run(); // until the session ends
 * ```
 */
export * from './peer.js';
export * from './peer-components.js';
export * from './transfer-verdict.js';
export * from './slice-client.js';
export * from './slice-store.js';
export * from './target.js';
export * from './target-store.js';
export * from './rate-meter.js';
export * from './progress.js';
export * from './discovery.js';
export * from './on-complete.js';
export * from './finish-hooks.js';
export * from './target-in-use.js';
export * from './machine-identity.js';
