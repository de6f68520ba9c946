import { CLIENT_SECURITY_OPTIONS, coordinatorOption } from './shared-options.js';
import type { OptionTable } from './option-table.js';

/** The options of the operator commands (status, start, end, set): flags only. */
export const OPERATOR_OPTIONS: OptionTable = [coordinatorOption('coordinator URL', true), ...CLIENT_SECURITY_OPTIONS];
