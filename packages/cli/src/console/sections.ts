import { formatBytes, formatDuration, formatRate } from '@cascade/common';
import type { SessionStatus } from '@cascade/coordinator';
import { machineLabel } from './roster.js';
import { bar, etaText, fit } from './text.js';

/** A titled list of the console; the layout decides how many of its rows fit. */
export interface Section {
  title: string;
  rows: string[];
}

/**
 * The server queue: the address clients dial, free/total slots, clients and bytes served, and
 * its mode (relay, whole; QUAR: quarantined for bad slices; UNRCH: its clients cannot reach it).
 */
export function serverSection(s: SessionStatus, width: number): Section {
  const name = Math.max(10, width - 61);
  const head = (a: string, b: string, c: string, d: string, e: string, f: string): string =>
    `${fit(a, name + 2)} ${fit(b, 21)} ${fit(c, 10, 'right')} ${fit(d, 6, 'right')} ${fit(e, 11, 'right')} ${fit(f, 6)}`;
  return {
    title: head(`SERVER QUEUE ${s.servers.length}`, 'host', 'free/total', 'served', 'bytes', 'mode'),
    rows: s.servers.map((x) =>
      head(
        `  ${x.name}`,
        x.host ?? '?',
        `${x.capacity - x.active}/${x.capacity}`,
        String(x.served),
        formatBytes(x.bytesServed ?? 0),
        x.quarantined ? 'QUAR' : x.unreachable ? 'UNRCH' : x.relay ? 'relay' : 'whole',
      ),
    ),
  };
}

/** The client queue in FIFO order: position, the machine (name, address, MAC), time waiting. */
export function clientSection(s: SessionStatus, width: number, now: number): Section {
  const name = Math.max(10, width - 20);
  const row = (a: string, b: string, c: string): string =>
    `${fit(a, 6, 'right')}  ${fit(b, name)} ${fit(c, 10, 'right')}`;
  return {
    title: `${fit(`CLIENT QUEUE ${s.waiting.length}`, 8 + name)} ${fit('waiting', 10, 'right')}`,
    rows: s.waiting.map((w) => row(`#${w.position + 1}`, machineLabel(w), formatDuration(now - w.since))),
  };
}

/** Active transfers: server → client, a progress bar, percentage, rate and ETA each. */
export function transferSection(s: SessionStatus, width: number): Section {
  const pair = Math.max(14, Math.min(40, Math.floor(width * 0.3)));
  const barWidth = Math.max(6, width - pair - 34);
  const slices = s.image?.slices ?? 0;
  const size = s.image?.size ?? 0;
  return {
    title: `TRANSFERS ${s.transfers.length}`,
    rows: s.transfers.map((t) => {
      const f = slices > 0 ? t.slices / slices : 0;
      const eta = etaText((1 - f) * size, t.rate);
      return `  ${fit(`${t.serverName} → ${t.clientName}`, pair)} ${bar(f, barWidth)} ${fit(`${Math.floor(f * 100)}%`, 4, 'right')} ${fit(formatRate(t.rate), 11, 'right')} ${fit(`ETA ${eta}`, 12, 'right')}`;
    }),
  };
}

/** Who served whom, as a tree from the servers nobody served (the seeder); each machine with its address. */
export function treeSection(s: SessionStatus): Section {
  const children = new Map<string, string[]>();
  const clients = new Set<string>();
  const label = new Map(s.tree.map((e) => [e.client, machineLabel({ name: e.client, ip: e.ip, mac: e.mac })]));
  for (const e of s.tree) {
    clients.add(e.client);
    const list = children.get(e.server) ?? [];
    list.push(e.client);
    children.set(e.server, list);
  }
  const rows: string[] = [];
  const seen = new Set<string>();
  const walk = (node: string, prefix: string, last: boolean, root: boolean): void => {
    if (seen.has(node) || rows.length > 5000) return;
    seen.add(node);
    const text = label.get(node) ?? node;
    rows.push(root ? `  ${text}` : `  ${prefix}${last ? '└─ ' : '├─ '}${text}`);
    const kids = children.get(node) ?? [];
    const next = root ? '' : `${prefix}${last ? '   ' : '│  '}`;
    kids.forEach((k, i) => walk(k, next, i === kids.length - 1, false));
  };
  for (const server of children.keys()) if (!clients.has(server)) walk(server, '', true, true);
  return { title: `SERVED BY (tree, ${s.tree.length} imaged)`, rows };
}
