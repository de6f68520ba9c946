import { STATUS_WARNING_LIMIT, type StatusWarning } from '@cascade/common';

/** The recent warnings of every status snapshot: the last STATUS_WARNING_LIMIT, oldest first. */
export class WarningLog {
  private readonly warnings: StatusWarning[] = [];

  add(w: StatusWarning): void {
    this.warnings.push(w);
    if (this.warnings.length > STATUS_WARNING_LIMIT) this.warnings.shift();
  }

  list(): StatusWarning[] {
    return [...this.warnings];
  }
}
