/**
 * The simulator: drives the live Scheduler with simulated peers, in a fixed-transfer-time model
 * or a fluid bandwidth model, classic or relay, with optional random failures.
 *
 * @example
 * ```ts
 * import { simulate, formatReport } from '@cascade/coordinator';
 * const run = simulate({ peers: 682, seederCapacity: 2, peerCapacity: 3, mode: 'classic',
 *   model: { kind: 'fixed', transferMs: 20 * 60_000 } });
 * run.makespanMs; // 6_000_000: 2, 10, 42, 170, 682 imaged at 20, 40, 60, 80, 100 minutes
 * ```
 */
export * from './simulate.js';
export * from './params.js';
export * from './rate-feed.js';
export * from './model.js';
export * from './failures.js';
export * from './event-queue.js';
export * from './prng.js';
export * from './water-fill.js';
export * from './flow-network.js';
export * from './report.js';
export * from './chart.js';
export * from './progression.js';
