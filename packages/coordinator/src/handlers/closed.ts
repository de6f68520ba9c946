import type { MemberConnection } from '../members/member.js';
import type { HandlerContext } from './context.js';

/**
 * A member's connection closed (`clean`: it closed it on purpose). If it was the member's
 * current connection, the member serves and fetches no more; on the roster it left or is lost;
 * an imaged peer stays on the board, anything else of it is dropped once nothing needs it. A peer
 * imaged by its word alone (Member.imagedByClaim) is uncounted and forgotten.
 */
export function onClosed(ctx: HandlerContext, conn: MemberConnection, clean: boolean, now: number): void {
  const m = ctx.members.disconnected(conn);
  if (!m) return;
  const { effects } = ctx;
  effects.serverGone(m, now, { lost: true });
  effects.clientGone(m, now);
  effects.outcomes.closed(m, clean);
  if (m.imagedByClaim) ctx.decide.removeClient(m.id, now, { uncount: true });
  const imaged = ctx.scheduler.getClient(m.id)?.state === 'imaged';
  if (m.view && imaged) m.view.connected = false;
  else m.view = null;
  ctx.members.settle(m, now);
}
