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
// The public surface, by folder: the coordinator itself, the pure scheduler and the simulator
// that drives it, the state a coordinator keeps (members, sessions, decisions), and status.
export * from './coordinator.js';
export * from './coordinator-state.js';
export * from './scheduler/scheduler.js';
export * from './scheduler/keyed-queue.js';
export * from './scheduler/types.js';
export * from './simulator/index.js';
export * from './members/member.js';
export * from './members/member-table.js';
export * from './sessions/session-store.js';
export * from './decisions/applier.js';
export * from './decisions/decide.js';
export * from './decisions/effects.js';
export * from './net/control-connection.js';
export * from './net/hello-gate.js';
export * from './net/discovery-responder.js';
export * from './status/status.js';
export * from './status/metrics.js';
