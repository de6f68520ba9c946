import { CascadeError, type ClientMessageOf } from '@cascade/common';
import type { Member } from '../members/member.js';
import type { HandlerContext } from './context.js';

/** `cascade start | end | set`: an operator moves a session on, or changes its options. */
export function onOperator(
  ctx: HandlerContext,
  m: Member,
  msg: ClientMessageOf<'start-session' | 'end-session' | 'set-session'>,
  now: number,
): void {
  const s = ctx.scheduler.getSession(msg.session);
  if (!s || s.state === 'pending') {
    m.conn?.reject(new CascadeError('ERR_UNKNOWN_SESSION', `no session named "${msg.session}" is open`));
    return;
  }
  ctx.log.info({ operator: m.name, command: msg.type, session: msg.session }, 'operator command');
  if (msg.type === 'start-session') ctx.decide.startSession(msg.session, now);
  else if (msg.type === 'end-session') ctx.decide.endSession(msg.session, now, 'operator');
  else ctx.decide.setOptions(msg.session, msg.options, now);
  m.send({ type: 'ack', of: msg.type, session: msg.session });
}

/** Anyone connected may ask for a status snapshot (the console, `cascade status`). */
export function onGetStatus(ctx: HandlerContext, m: Member, msg: ClientMessageOf<'get-status'>): void {
  m.send({ type: 'status', status: ctx.status(msg.session) });
}
