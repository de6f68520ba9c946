/** @cascade/cli — the `cascade` command (entry point: bin.ts) and the loopback lab harness. */
export { commands } from './commands/index.js';
export { ExitCode, exitCodeFor } from './exit.js';
export { BUG_EXIT_CODE, installLastResortHandlers } from './last-resort.js';
export * from './demo/fixtures.js';
export * from './demo/lab.js';
export * from './demo/run-lab.js';
export * from './demo/summary.js';
