/** What the coordinator knows to tell machines apart. */
export interface MemberIdentity {
  id: string;
  /** The name the member gave (`--name`, else its hostname). */
  hostname: string;
  /** The address the coordinator saw it connect from. */
  ip: string | null;
  mac: string | null;
}

const usableMac = (mac: string | null): mac is string => !!mac && !/^(00:){5}00$/.test(mac);

/**
 * Unique display names for one session's members, in join order: the given name when no other
 * member has it, otherwise `name-IP`, or `name-MAC` when the address is shared too (NAT, one
 * host), or `name-N` as a last resort. Boot media all carry one hostname; this keeps the tree,
 * the console and /metrics from merging machines. Pure: the same members give the same names.
 */
export function displayNames(members: readonly MemberIdentity[]): Map<string, string> {
  const groups = new Map<string, MemberIdentity[]>();
  for (const m of members) {
    const group = groups.get(m.hostname);
    if (group) group.push(m);
    else groups.set(m.hostname, [m]);
  }
  const names = new Map<string, string>();
  for (const [hostname, group] of groups) {
    if (group.length === 1) {
      names.set(group[0]!.id, hostname);
      continue;
    }
    const ips = countBy(group, (m) => m.ip);
    const macs = countBy(group, (m) => (usableMac(m.mac) ? m.mac : null));
    for (const m of group) {
      if (m.ip && ips.get(m.ip) === 1) names.set(m.id, `${hostname}-${m.ip}`);
      else if (usableMac(m.mac) && macs.get(m.mac) === 1) names.set(m.id, `${hostname}-${m.mac}`);
    }
  }
  return deduplicate(members, names);
}

function countBy(group: readonly MemberIdentity[], key: (m: MemberIdentity) => string | null): Map<string, number> {
  const c = new Map<string, number>();
  for (const m of group) {
    const k = key(m);
    if (k !== null) c.set(k, (c.get(k) ?? 0) + 1);
  }
  return c;
}

/** Give every member still unnamed, or named like another, a numbered name that nobody has. */
function deduplicate(members: readonly MemberIdentity[], names: Map<string, string>): Map<string, string> {
  const used = new Set<string>();
  const next = new Map<string, number>();
  const out = new Map<string, string>();
  for (const m of members) {
    const base = names.get(m.id) ?? m.hostname;
    let name = base;
    for (let i = next.get(base) ?? 2; used.has(name) && i < 1_000_000; i++) {
      name = `${base}-${i}`;
      next.set(base, i + 1);
    }
    used.add(name);
    out.set(m.id, name);
  }
  return out;
}
