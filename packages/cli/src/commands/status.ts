import { formatBytes, formatDuration } from '@cascade/common';
import type { SessionStatus, StatusSnapshot } from '@cascade/coordinator';
import type { CommandModule } from 'yargs';
import { DEFAULT_COORDINATOR } from '../common-options.js';
import { clientSecurityFrom, withClientSecurityOptions, type ClientSecurityArgs } from '../security-options.js';
import { requestOnce } from './operator.js';

interface Args extends ClientSecurityArgs {
  coordinator: string;
  session?: string;
  json: boolean;
}

export async function fetchStatus(
  url: string,
  session?: string,
  security: { token?: Uint8Array; ca?: Buffer } = {},
): Promise<StatusSnapshot> {
  const m = await requestOnce(
    url,
    'observer',
    { type: 'get-status', ...(session ? { session } : {}) },
    (x) => x.type === 'status',
    10_000,
    security,
  );
  return (m as { status: unknown }).status as StatusSnapshot;
}

export function renderPlain(s: StatusSnapshot): string {
  if (s.sessions.length === 0) return 'no sessions\n';
  return s.sessions.map((x) => renderSession(x, s.now)).join('\n');
}

function renderSession(x: SessionStatus, now: number): string {
  const img = x.image ? `${x.image.name} (${formatBytes(x.image.size)})` : 'no image yet';
  const lines = [
    `session ${x.name}: ${x.state}${x.endReason ? ` (${x.endReason})` : ''} — ${img}`,
    `  imaged ${x.imaged}${x.expected ? ` of ${x.expected}` : ''}; ${x.waiting.length} waiting; ${x.transfers.length} transferring; ${x.servers.length} servers`,
  ];
  for (const srv of x.servers)
    lines.push(
      `  server ${srv.name} ${srv.host ?? ''} ${srv.capacity - srv.active}/${srv.capacity} free, served ${srv.served}${srv.quarantined ? ' QUARANTINED' : ''}`,
    );
  for (const t of x.transfers)
    lines.push(`  transfer ${t.serverName} → ${t.clientName} ${formatBytes(t.bytes)} ${formatDuration(now - t.since)}`);
  for (const w of x.waiting) lines.push(`  waiting #${w.position} ${w.name} for ${formatDuration(now - w.since)}`);
  return `${lines.join('\n')}\n`;
}

export const statusCommand: CommandModule<object, Args> = {
  command: 'status',
  describe: 'Show sessions, both queues and transfers',
  builder: (y) =>
    withClientSecurityOptions(y)
      .option('coordinator', { type: 'string', default: DEFAULT_COORDINATOR, describe: 'coordinator URL' })
      .option('session', { type: 'string', describe: 'only this session' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON for scripts' }) as never,
  handler: async (argv) => {
    const s = await fetchStatus(argv.coordinator, argv.session, await clientSecurityFrom(argv));
    process.stdout.write(argv.json ? `${JSON.stringify(s, null, 2)}\n` : renderPlain(s));
  },
};
