/**
 * @cascade/coordinator — sessions, the pure scheduler, the live ws coordinator and its status.
 *
 * @example
 * ```ts
 * import { Coordinator } from '@cascade/coordinator';
 * const c = new Coordinator({ logger, host: '127.0.0.1', port: 7770 });
 * await c.listen();
 * ```
 */
export * from './scheduler/scheduler.js';
export * from './scheduler/keyed-queue.js';
export * from './scheduler/types.js';
export * from './coordinator.js';
export * from './control-connection.js';
export * from './hello-gate.js';
export * from './status.js';
export * from './simulator/index.js';
export * from './member.js';
export * from './members.js';
export * from './effects.js';
export * from './metrics.js';
export * from './discovery-responder.js';
export * from './coordinator-state.js';
