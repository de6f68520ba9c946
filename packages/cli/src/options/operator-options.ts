import { CLIENT_SECURITY_OPTIONS, coordinatorWithDefault } from './shared-options.js';
import type { OptionTable } from './option-table.js';

/** The options of the operator commands (status, start, end, set): flags only. */
export const OPERATOR_OPTIONS = [
  coordinatorWithDefault('coordinator URL'),
  ...CLIENT_SECURITY_OPTIONS,
] as const satisfies OptionTable;
