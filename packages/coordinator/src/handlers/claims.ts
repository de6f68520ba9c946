import { CascadeError, type ClientMessageOf } from '@cascade/common';
import type { Member } from '../members/member.js';
import type { HandlerContext } from './context.js';

/*
 * What a client may claim, checked against what the coordinator itself knows (issue 16). A claim
 * that fails its check changes nothing and is answered with ERR_CLAIM_REFUSED.
 */

export function refuseClaim(ctx: HandlerContext, m: Member, claim: string, why: string): void {
  ctx.log.info({ peer: m.name, id: m.id, remote: m.remote, claim, why }, 'claim refused');
  m.conn?.reject(new CascadeError('ERR_CLAIM_REFUSED', `${claim} refused: ${why}`));
}

/** Whether the scheduler records a transfer to `m` in `session` (assigned, or re-announced). */
export function hasTransfer(ctx: HandlerContext, m: Member, session: string): boolean {
  const c = ctx.scheduler.getClient(m.id);
  return c?.session === session && c.state === 'transferring';
}

/**
 * The server a bad-slice report from `m` may count against: the one the coordinator itself last
 * assigned `m` in `session` (running, or just ended), and only once per assignment. A report
 * naming any other server is the client's word alone and blames nobody.
 */
export function reportableServer(m: Member, named: string, session: string): string | null {
  const a = m.assignment;
  if (!a || a.server !== named || a.session !== session || a.reported) return null;
  a.reported = true;
  return a.server;
}

/**
 * Whether a `done` from `m` counts: the coordinator assigned it a transfer in this session, or
 * records one it re-announced, or it announced (`want`) every slice of the image (`--reuse`, or
 * an imaged peer back after a coordinator restart), or its done was counted before.
 */
export function doneCounts(ctx: HandlerContext, m: Member, session: string): boolean {
  if (m.imagedIn === session || holdsAll(ctx, m, session) === true) return true;
  if (m.assignment?.session === session) return true;
  return hasTransfer(ctx, m, session);
}

/**
 * Whether `m` announced holding every slice of `session`'s image; undefined while the session's
 * manifest is not known (its seeder has not opened it, e.g. after a coordinator restart).
 */
export function holdsAll(ctx: HandlerContext, m: Member, session: string): boolean | undefined {
  const slices = ctx.sessions.get(session)?.manifest.digests.length;
  if (m.announced?.session !== session) return false;
  return slices === undefined ? undefined : m.announced.have >= slices;
}

/**
 * Whether a counted `done` from `m` makes it a source: it ended a transfer the coordinator
 * assigned it in `session` (running, or just ended). Holdings announced alone never do.
 */
export function doneProvesHolding(ctx: HandlerContext, m: Member, session: string): boolean {
  return m.assignment?.session === session || hasTransfer(ctx, m, session);
}

/**
 * Whether `m` may serve `session`, and how. The seeder that opened it, and a peer whose `done`
 * ended a transfer the coordinator assigned (`holds`), hold the image: they serve it whole. A
 * peer that only claimed its holdings (`--reuse`) stays a client (issue 29, finding 1). In a relay session a peer of the session may
 * register as a relay: the scheduler sends it clients only while it is itself receiving and
 * ahead of them (server-choice.ts). Anyone else holds nothing the coordinator knows of; a
 * quarantined server stays quarantined.
 */
export function serveRight(
  ctx: HandlerContext,
  m: Member,
  msg: ClientMessageOf<'serve'>,
  session: string,
): { relay: boolean } | string {
  if (m.serving?.quarantined) return 'this server is quarantined (its clients reported bad slices)';
  const holds = m.opened?.name === session || m.holds === session;
  if (holds || (m.role === 'seeder' && m.sourceOf === session)) return { relay: msg.relay ?? false };
  const relaySession = ctx.scheduler.getSession(session)?.options.relay === true;
  if (m.role === 'peer' && relaySession && msg.relay === true) return { relay: true };
  return relaySession
    ? 'only a relay (serve with relay: true) or a member holding the image may serve'
    : 'only the seeder that opened the session or a peer imaged through assigned transfers may serve';
}
