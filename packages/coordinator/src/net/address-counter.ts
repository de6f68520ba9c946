/** Open connections per remote address, for the per-address connection limit. */
export class AddressCounter {
  private readonly counts = new Map<string, number>();

  get(address: string): number {
    return this.counts.get(address) ?? 0;
  }

  add(address: string): void {
    this.counts.set(address, this.get(address) + 1);
  }

  remove(address: string): void {
    const n = this.get(address) - 1;
    if (n > 0) this.counts.set(address, n);
    else this.counts.delete(address);
  }
}
