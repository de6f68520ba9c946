import type { ClientMessageOf } from '@cascade/common';
import type { Member } from '../members/member.js';
import { doneCounts, doneProvesHolding, hasTransfer, holdsAll, refuseClaim, reportableServer } from './claims.js';
import type { HandlerContext } from './context.js';

/** A peer wants the image (or re-announces a transfer that went on while it reconnected). */
export function onWant(ctx: HandlerContext, m: Member, msg: ClientMessageOf<'want'>, now: number): void {
  const session = m.session!; // seeders and peers name their session at hello
  const s = ctx.scheduler.getSession(session);
  if (s?.state === 'ended') {
    m.send({ type: 'session-ended', session, reason: s.endReason ?? 'ended' });
    return;
  }
  if (!msg.activeServer) m.announced = { session, have: msg.have };
  if (!msg.activeServer && holdsAll(ctx, m, session)) {
    // It holds every slice (--reuse, or imaged before a coordinator restart): its done follows.
    ctx.log.info({ peer: m.name, session, have: msg.have }, 'client holds the whole image');
    ctx.effects.clientGone(m, now);
    return;
  }
  if (msg.activeServer) {
    ctx.log.info({ peer: m.name, server: msg.activeServer, have: msg.have }, 'transfer re-announced');
    ctx.decide.resumeTransfer(session, m.id, msg.activeServer, now, m.address);
    return;
  }
  ctx.log.info({ peer: m.name, session, have: msg.have }, 'client waiting');
  const joinedAt = m.view?.joinedAt; // its hello (a peer is on the board from then on)
  const opts = { held: msg.have, address: m.address, ...(joinedAt === undefined ? {} : { joinedAt }) };
  ctx.decide.enqueueClient(session, m.id, now, opts);
}

/** Progress of a transfer the coordinator records; from anyone else it is ignored (a peer sends it often). */
export function onProgress(ctx: HandlerContext, m: Member, msg: ClientMessageOf<'progress'>, now: number): void {
  if (!hasTransfer(ctx, m, m.session ?? '')) return;
  ctx.effects.progressed(m, msg.slices, msg.bytes, msg.rate, now, msg);
  ctx.scheduler.noteHeld(m.id, msg.slices);
  ctx.scheduler.noteRate(m.id, msg.rate, now);
}

/**
 * A peer has the whole image, verified. It counts only when the coordinator has reason to believe
 * it (claims.ts); its bad-slice count blames only the server the coordinator assigned it.
 */
export function onDone(ctx: HandlerContext, m: Member, msg: ClientMessageOf<'done'>, now: number): void {
  const session = m.session ?? '';
  if (!doneCounts(ctx, m, session)) {
    if (holdsAll(ctx, m, session) === undefined) {
      ctx.log.info({ peer: m.name, session }, 'done held until the session opens');
      m.deferred = { done: msg, serve: null };
    } else refuseClaim(ctx, m, 'done', 'no transfer was assigned and no holdings announced');
    return;
  }
  // by its word alone: counted while it stays, forgotten when it leaves (handlers/closed.ts)
  if (m.imagedIn !== session || m.imagedByClaim) m.imagedByClaim = !assignedOrCounted(ctx, m, session);
  const server = ctx.members.name(msg.server);
  const blamed = msg.badSlices ? reportableServer(m, msg.server, session) : null;
  ctx.log.info({ peer: m.name, server, bytes: msg.bytes, ms: msg.ms }, 'finished');
  const manifest = ctx.sessions.get(session)?.manifest;
  // the bytes since the peer's last progress report: credited to its server and the metrics
  if (manifest && msg.server !== 'reused')
    ctx.effects.progressed(m, manifest.digests.length, manifest.size, 0, now, msg);
  m.imagedIn = session;
  if (doneProvesHolding(ctx, m, session)) m.holds = session;
  ctx.effects.counted(session, 'done');
  if (blamed && msg.badSlices) {
    const claim = { reportedBy: m.name, code: 'ERR_SLICE_DIGEST_MISMATCH' };
    ctx.effects.badSlices({ client: m, server: blamed, count: msg.badSlices, session, claim }, now);
  }
  ctx.effects.outcomes.imaged(m, imagedFrom(ctx, m, msg.server), now);
  ctx.decide.transferDone(m.id, now, m.session, m.address);
}

/** Whether the coordinator assigned `m` a transfer in `session`, or counted its done there before. */
function assignedOrCounted(ctx: HandlerContext, m: Member, session: string): boolean {
  if (m.imagedIn === session && !m.imagedByClaim) return true;
  return m.assignment?.session === session || hasTransfer(ctx, m, session);
}

/**
 * A peer's transfer failed. Its `code` is the client's claim (about its server, or its own disk),
 * logged and shown as a report, never as the coordinator's own error. ERR_TARGET_UNUSABLE is its
 * own disk: it leaves the queues and nobody is blamed; ERR_SERVER_FULL is a busy server, tried again
 * later; anything else counts against the server it was assigned.
 */
export function onFailed(ctx: HandlerContext, m: Member, msg: ClientMessageOf<'failed'>, now: number): void {
  const session = m.session ?? '';
  // Its own disk: any client of the session may say so (it only leaves); anything else needs a transfer.
  const own = msg.code === 'ERR_TARGET_UNUSABLE';
  if (own ? ctx.scheduler.getClient(m.id)?.session !== session : !hasTransfer(ctx, m, session)) {
    refuseClaim(ctx, m, 'failed', 'no transfer is recorded for this client');
    return;
  }
  const server = ctx.members.name(msg.server);
  if (m.assignment?.movedFrom === msg.server && !own) {
    // It ended on the server we just moved it off, before it heard of the move: it is on its way.
    ctx.log.info({ peer: m.name, server, reportedCode: msg.code }, 'failure from before a move; ignored');
    return;
  }
  const claim = { reportedBy: m.name, code: msg.code };
  ctx.log.warn(
    {
      peer: m.name,
      server,
      reportedCode: msg.code,
      remoteCode: msg.remoteCode,
      reason: msg.reason,
      badSlices: msg.badSlices.length,
    },
    'transfer failed',
  );
  ctx.effects.warn(now, session, 'transfer-failed', `${m.name} from ${server}: ${msg.reason}`, claim);
  ctx.effects.counted(session, 'failed');
  if (msg.code === 'ERR_TARGET_UNUSABLE') {
    ctx.effects.outcomes.failed(m, msg.code, msg.reason);
    ctx.decide.removeClient(m.id, now);
    return;
  }
  const a = m.assignment;
  const assigned = a?.session === session && a.server === msg.server ? a.server : null;
  if (assigned && msg.code === 'ERR_SERVER_UNREACHABLE') ctx.effects.unreachable(assigned, m, now);
  const blamed = msg.badSlices.length > 0 ? reportableServer(m, msg.server, session) : null;
  if (blamed) ctx.effects.badSlices({ client: m, server: blamed, count: msg.badSlices.length, session, claim }, now);
  else if (msg.badSlices.length > 0) ctx.log.info({ peer: m.name, named: server }, 'bad-slice report not counted');
  // A full server (its own code, passed on as remoteCode) is not avoided: it frees a slot soon.
  const avoidServer = (msg.remoteCode ?? msg.code) !== 'ERR_SERVER_FULL';
  ctx.decide.transferFailed(m.id, now, { avoidServer, distrust: blamed !== null });
}

/**
 * A peer or seeder stops (signal, local fault): it serves no more and fetches no more. A peer
 * leaving with a code of its own failure is failed on the roster. The seeder that opened its
 * session ends it ('seeder-stopped'), unless the session asked for a handover and another
 * complete source serves on. A seeder whose image changed under it (reason starting with
 * ERR_IMAGE_CHANGED) always ends it ('image-changed'): the session's image no longer exists at
 * its source, so waiting peers are told at once instead of waiting for a source that never comes.
 */
export function onLeave(ctx: HandlerContext, m: Member, msg: ClientMessageOf<'leave'>, now: number): void {
  ctx.log.info({ peer: m.name, reason: msg.reason, role: m.role, reportedCode: msg.code }, 'peer leaving');
  ctx.effects.outcomes.left(m, msg.reason, msg.code);
  ctx.effects.serverGone(m, now, { lost: false, reason: msg.reason });
  ctx.effects.clientGone(m, now);
  if (m.role === 'seeder') seederStopped(ctx, m, now, msg.reason.startsWith('ERR_IMAGE_CHANGED'));
}

function seederStopped(ctx: HandlerContext, m: Member, now: number, imageChanged: boolean): void {
  const session = m.session ?? '';
  const s = ctx.scheduler.getSession(session);
  if (!s || s.state === 'ended' || s.state === 'pending' || ctx.sessions.get(session)?.openedBy !== m.id) return;
  if (imageChanged) {
    ctx.log.warn({ session, seeder: m.name }, 'seeder image changed: session ends');
    ctx.effects.warn(now, session, 'image-changed', `${m.name}: its image changed; the session ends`);
    ctx.decide.endSession(session, now, 'image-changed');
    return;
  }
  const sources = ctx.effects.completeSources(s);
  if (s.options.handover === true && sources > 0) {
    ctx.log.info({ session, seeder: m.name, sources }, 'seeder stopped: session handed over');
    ctx.effects.warn(now, session, 'handed-over', `${m.name} stopped; ${sources} complete source(s) serve on`);
    return;
  }
  ctx.log.info({ session, seeder: m.name }, 'seeder stopped: session ends');
  ctx.decide.endSession(session, now, 'seeder-stopped');
}

/**
 * The server a peer says it was imaged from: the one it was assigned; else (it announces an
 * image it already held, e.g. to a restarted coordinator) a member it names, or 'reused'.
 */
function imagedFrom(ctx: HandlerContext, m: Member, named: string): string | null {
  const assigned = ctx.scheduler.getClient(m.id)?.server;
  if (assigned) return assigned;
  return named === 'reused' || ctx.members.get(named) ? named : null;
}
