import { STATUS_WARNING_LIMIT, type StatusWarning } from '@cascade/common';

/** The recent warnings of every status snapshot: the last STATUS_WARNING_LIMIT, oldest first. */
export class WarningLog {
  private warnings: StatusWarning[] = [];

  add(w: StatusWarning): void {
    this.warnings.push(w);
    if (this.warnings.length > STATUS_WARNING_LIMIT) this.warnings.shift();
  }

  /** Take back the warnings that no longer hold (a session's source came back). */
  remove(match: (w: StatusWarning) => boolean): void {
    this.warnings = this.warnings.filter((w) => !match(w));
  }

  list(): StatusWarning[] {
    return [...this.warnings];
  }
}
