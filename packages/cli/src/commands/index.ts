import type { CommandModule } from 'yargs';
import { coordinatorCommand } from './coordinator.js';
import { demoCommand } from './demo.js';
import { manifestCommand } from './manifest.js';
import { keygenCommand } from './keygen.js';
import { endCommand, setCommand, startCommand } from './operator.js';
import { peerCommand } from './peer.js';
import { seedCommand } from './seed.js';
import { simulateCommand } from './simulate.js';
import { statusCommand } from './status.js';

/**
 * Every `cascade` subcommand, in help order. Each module here is loaded by every `cascade` run
 * (yargs needs every command's options for --help and validation), so it holds the options and
 * a handler that imports what the command does with `await import(...)` (a static specifier, so
 * the one-file bundle still holds it): `cascade seed` does not load the coordinator, the peer,
 * the console or the simulator.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [
  coordinatorCommand,
  seedCommand,
  peerCommand,
  statusCommand,
  startCommand,
  endCommand,
  setCommand,
  manifestCommand,
  keygenCommand,
  simulateCommand,
  demoCommand,
];
