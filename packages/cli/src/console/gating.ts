import { formatDuration } from '@cascade/common';
import type { SessionStatus } from '@cascade/coordinator';
import { clock } from './text.js';

interface Options {
  startCount?: number;
  startAfterMs?: number;
  startManual?: boolean;
  endCount?: number;
  lingerMs?: number;
}

/** What a session waits for, or how it will end: one line for the console. */
export function gatingText(s: SessionStatus, now: number): string {
  const o = s.options as Options;
  switch (s.state) {
    case 'unopened':
      return `unopened: ${s.waiting.length} machine(s) wait for a seeder to open it (cascade seed IMAGE --session ${s.name})`;
    case 'waiting':
      return `waiting ${startGates(s, o, now).join(' or ')}`;
    case 'running':
      return `running ${s.startedAt !== null ? `for ${formatDuration(now - s.startedAt)}` : ''}; ends ${endGates(o).join(', or ')}`;
    default:
      return `ended (${s.endReason ?? 'ended'})${s.endedAt !== null ? ` at ${clock(s.endedAt)}` : ''}`;
  }
}

function startGates(s: SessionStatus, o: Options, now: number): string[] {
  const gates: string[] = [];
  if (o.startManual) return [`for an operator: cascade start ${s.name}`];
  if (o.startCount !== undefined) gates.push(`for ${o.startCount} clients (${s.waiting.length} waiting)`);
  if (o.startAfterMs !== undefined && s.openedAt !== null) {
    const at = s.openedAt + o.startAfterMs;
    gates.push(`until ${clock(at)} (in ${formatDuration(Math.max(0, at - now))})`);
  }
  return gates.length > 0 ? gates : ['to start'];
}

function endGates(o: Options): string[] {
  const gates: string[] = [];
  if (o.endCount !== undefined) gates.push(`at ${o.endCount} imaged`);
  if (o.lingerMs !== undefined) gates.push(`after ${formatDuration(o.lingerMs)} with nobody waiting`);
  gates.push('by an operator');
  return gates;
}
