import type { ClientMessageOf } from '@cascade/common';
import type { Member } from '../members/member.js';
import { refuseClaim } from './claims.js';
import type { HandlerContext } from './context.js';

/**
 * A server dropped one of its clients (issue 29, finding 4): below its rate floor while every
 * slot was taken. Believed only about a client the coordinator itself assigned to that server,
 * so a server can only give up its own slot. The client is taken off it and queued again at the
 * back, avoiding that server: the slot goes to the next client in the queue, in order.
 */
export function onDropped(ctx: HandlerContext, m: Member, msg: ClientMessageOf<'dropped'>, now: number): void {
  const c = ctx.scheduler.getClient(msg.client);
  if (c?.state !== 'transferring' || c.server !== m.id) {
    refuseClaim(ctx, m, 'dropped', 'that client is not assigned to this server');
    return;
  }
  const client = ctx.members.get(msg.client);
  ctx.log.warn({ server: m.name, peer: client?.name ?? msg.client, code: msg.code }, 'server dropped a slow client');
  const session = client?.session ?? m.session ?? '';
  ctx.effects.warn(now, session, 'client-dropped', `${m.name} dropped ${client?.name ?? msg.client}: ${msg.code}`);
  ctx.decide.transferFailed(msg.client, now, { avoidServer: true, distrust: false, back: true });
}
