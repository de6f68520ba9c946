import type { MemberIdentity } from './member-names.js';

const usableMac = (mac: string | null): mac is string => !!mac && !/^(00:){5}00$/.test(mac);

/** `base-N`: a numbered form of `base`. */
function isNumbered(name: string, base: string): boolean {
  return name.startsWith(`${base}-`) && /^\d+$/.test(name.slice(base.length + 1));
}

/** Members of one hostname, indexed by address and MAC to see which of them are unique. */
interface Group {
  ids: Set<string>;
  byIp: Map<string, Set<string>>;
  byMac: Map<string, Set<string>>;
}

function add(index: Map<string, Set<string>>, key: string, id: string, affected: Set<string>): void {
  const set = index.get(key) ?? new Set<string>();
  index.set(key, set);
  set.add(id);
  if (set.size === 2) for (const other of set) affected.add(other); // no longer unique
}

function remove(index: Map<string, Set<string>>, key: string, id: string, affected: Set<string>): void {
  const set = index.get(key);
  if (!set?.delete(id)) return;
  if (set.size === 0) index.delete(key);
  else if (set.size === 1) for (const other of set) affected.add(other); // unique again
}

/**
 * The display names of one session's members, kept unique as they join — the rule of
 * displayNames() (member-names.ts), maintained incrementally: the name given when no other
 * member has it, else `name-IP`, else `name-MAC`, else a number. A join renames only the
 * machines it can affect (those sharing its hostname, address or MAC as they stop or start
 * being unique), so a lab of 10,000 machines of one hostname joins in linear time.
 */
export class NameBook {
  private readonly members = new Map<string, MemberIdentity>();
  private readonly joinOrder = new Map<string, number>();
  private readonly groups = new Map<string, Group>();
  private readonly names = new Map<string, string>();
  private readonly owners = new Map<string, string>();
  /** Per base name, the next number to try: numbered names are handed out without rescanning. */
  private readonly nextNumber = new Map<string, number>();
  private joins = 0;

  get size(): number {
    return this.members.size;
  }

  /** A member joined, or came back: returns every member whose name changed, with its new name. */
  admit(m: MemberIdentity): Map<string, string> {
    const old = this.members.get(m.id);
    if (old && old.hostname === m.hostname && old.ip === m.ip && old.mac === m.mac) return new Map();
    const affected = new Set<string>([m.id]);
    if (old) this.leave(old, affected);
    else this.joinOrder.set(m.id, this.joins++);
    this.members.set(m.id, m);
    this.enter(m, affected);
    return this.rename(affected);
  }

  /** Forget the member longest known (a bounded table); returns the names that changed. */
  forgetOldest(): Map<string, string> {
    const id = this.members.keys().next().value;
    if (id === undefined) return new Map();
    const affected = new Set<string>();
    this.leave(this.members.get(id)!, affected);
    this.members.delete(id);
    this.joinOrder.delete(id);
    const name = this.names.get(id);
    if (name !== undefined && this.owners.get(name) === id) this.owners.delete(name);
    this.names.delete(id);
    return this.rename(affected);
  }

  nameOf(id: string): string | undefined {
    return this.names.get(id);
  }

  private enter(m: MemberIdentity, affected: Set<string>): void {
    let g = this.groups.get(m.hostname);
    if (!g) {
      g = { ids: new Set(), byIp: new Map(), byMac: new Map() };
      this.groups.set(m.hostname, g);
    }
    g.ids.add(m.id);
    if (g.ids.size === 2) for (const id of g.ids) affected.add(id);
    if (m.ip) add(g.byIp, m.ip, m.id, affected);
    if (usableMac(m.mac)) add(g.byMac, m.mac, m.id, affected);
  }

  private leave(m: MemberIdentity, affected: Set<string>): void {
    const g = this.groups.get(m.hostname);
    if (!g?.ids.delete(m.id)) return;
    if (g.ids.size === 0) this.groups.delete(m.hostname);
    else if (g.ids.size === 1) for (const id of g.ids) affected.add(id);
    if (m.ip) remove(g.byIp, m.ip, m.id, affected);
    if (usableMac(m.mac)) remove(g.byMac, m.mac, m.id, affected);
  }

  /** The name the rule gives `m` before numbering. */
  private base(m: MemberIdentity): string {
    const g = this.groups.get(m.hostname)!;
    if (g.ids.size === 1) return m.hostname;
    if (m.ip && g.byIp.get(m.ip)?.size === 1) return `${m.hostname}-${m.ip}`;
    if (usableMac(m.mac) && g.byMac.get(m.mac)?.size === 1) return `${m.hostname}-${m.mac}`;
    return m.hostname;
  }

  private rename(affected: Set<string>): Map<string, string> {
    const ids = [...affected].filter((id) => this.members.has(id));
    ids.sort((a, b) => this.joinOrder.get(a)! - this.joinOrder.get(b)!);
    for (const id of ids) {
      const name = this.names.get(id);
      if (name !== undefined && this.owners.get(name) === id) this.owners.delete(name);
    }
    const changed = new Map<string, string>();
    for (const id of ids) {
      const base = this.base(this.members.get(id)!);
      const had = this.names.get(id);
      let name = base;
      if (had !== undefined && !this.owners.has(had) && isNumbered(had, base))
        name = had; // keep its number
      else if (this.owners.has(name)) {
        let i = this.nextNumber.get(base) ?? 2;
        for (let guard = 0; this.owners.has(`${base}-${i}`) && guard < 1_000_000; guard++) i++;
        name = `${base}-${i}`;
        this.nextNumber.set(base, i + 1);
      }
      this.owners.set(name, id);
      if (this.names.get(id) !== name) changed.set(id, name);
      this.names.set(id, name);
    }
    return changed;
  }
}
