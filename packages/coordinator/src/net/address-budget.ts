/**
 * Bytes the control connections of one remote address may hold at once in unfinished messages
 * (their fragments and partial frames). One connection's message limit bounds that connection;
 * this bounds the sum, so a thousand connections from one address cannot each hold a message.
 */
export class AddressBudget {
  private readonly perAddress = new Map<string, number>();
  private readonly perConn = new Map<object, { address: string; held: number }>();

  constructor(private readonly maxBytes: number) {}

  /**
   * `conn` (from `address`) holds `held` bytes now; false when that puts its address over the
   * budget (the caller drops `conn`, whose bytes this forgets then).
   */
  update(conn: object, address: string, held: number): boolean {
    const prev = this.perConn.get(conn)?.held ?? 0;
    const total = (this.perAddress.get(address) ?? 0) - prev + held;
    if (total > this.maxBytes) {
      this.forget(conn);
      return false;
    }
    this.perConn.set(conn, { address, held });
    if (total > 0) this.perAddress.set(address, total);
    else this.perAddress.delete(address);
    return true;
  }

  forget(conn: object): void {
    const entry = this.perConn.get(conn);
    if (!entry) return;
    this.perConn.delete(conn);
    const rest = (this.perAddress.get(entry.address) ?? 0) - entry.held;
    if (rest > 0) this.perAddress.set(entry.address, rest);
    else this.perAddress.delete(entry.address);
  }
}
