import { CascadeError, type ClientMessage } from '@cascade/common';
import type { Member } from '../members/member.js';
import { maySend } from './permissions.js';
import type { HandlerContext } from './context.js';
import { onGetStatus, onOperator } from './operator-handlers.js';
import { onOpenSession, onServe } from './session-handlers.js';
import { onDone, onFailed, onLeave, onProgress, onWant } from './transfer-handlers.js';
import { onDropped } from './dropped.js';

/** Route a welcomed member's message to its handler, once its role may send it (permissions.ts). */
export function dispatch(
  ctx: HandlerContext,
  m: Member,
  msg: Exclude<ClientMessage, { type: 'hello' }>,
  now: number,
): void {
  if (!maySend(m.role, msg.type)) {
    m.conn?.reject(new CascadeError('ERR_ROLE_FORBIDDEN', `a ${m.role} may not send ${msg.type}`));
    return;
  }
  switch (msg.type) {
    case 'open-session':
      return onOpenSession(ctx, m, msg, now);
    case 'serve':
      return onServe(ctx, m, msg, now);
    case 'want':
      return onWant(ctx, m, msg, now);
    case 'progress':
      return onProgress(ctx, m, msg, now);
    case 'done':
      return onDone(ctx, m, msg, now);
    case 'failed':
      return onFailed(ctx, m, msg, now);
    case 'dropped':
      return onDropped(ctx, m, msg, now);
    case 'leave':
      return onLeave(ctx, m, msg, now);
    case 'start-session':
    case 'end-session':
    case 'set-session':
      return onOperator(ctx, m, msg, now);
    case 'get-status':
      return onGetStatus(ctx, m, msg);
  }
}
