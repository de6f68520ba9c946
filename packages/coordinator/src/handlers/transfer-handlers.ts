import type { ClientMessageOf } from '@cascade/common';
import type { Member } from '../member.js';
import type { HandlerContext } from './context.js';

/** A peer wants the image (or re-announces a transfer that went on while it reconnected). */
export function onWant(ctx: HandlerContext, m: Member, msg: ClientMessageOf<'want'>, now: number): void {
  const session = m.session!; // seeders and peers name their session at hello
  const s = ctx.scheduler.getSession(session);
  if (s?.state === 'ended') {
    m.send({ type: 'session-ended', session, reason: s.endReason ?? 'ended' });
    return;
  }
  if (msg.activeServer) {
    ctx.log.info({ peer: m.name, server: msg.activeServer, have: msg.have }, 'transfer re-announced');
    ctx.effects.apply(ctx.scheduler.resumeTransfer(session, m.id, msg.activeServer, now));
    return;
  }
  ctx.log.info({ peer: m.name, session, have: msg.have }, 'client waiting');
  ctx.effects.apply(ctx.scheduler.enqueueClient(session, m.id, now, { held: msg.have }));
}

export function onProgress(ctx: HandlerContext, m: Member, msg: ClientMessageOf<'progress'>, now: number): void {
  ctx.effects.progressed(m, msg.slices, msg.bytes, msg.rate, now);
  ctx.scheduler.noteHeld(m.id, msg.slices);
}

/**
 * The server a client's report may be about: the one the coordinator assigned it. A report naming
 * any other server is the client's word alone and blames nobody.
 */
function assignedServer(ctx: HandlerContext, m: Member, named: string): string | null {
  const assigned = ctx.scheduler.getClient(m.id)?.server ?? null;
  if (assigned === named) return assigned;
  ctx.log.info({ peer: m.name, named, assigned }, 'report names a server the client was not assigned: ignored');
  return null;
}

/** A peer has the whole image, verified. */
export function onDone(ctx: HandlerContext, m: Member, msg: ClientMessageOf<'done'>, now: number): void {
  const session = m.session ?? '';
  const server = ctx.members.name(msg.server);
  const blamed = msg.badSlices ? assignedServer(ctx, m, msg.server) : null;
  ctx.log.info({ peer: m.name, server, bytes: msg.bytes, ms: msg.ms }, 'finished');
  const manifest = ctx.sessions.get(session)?.manifest;
  // the bytes since the peer's last progress report: credited to its server and the metrics
  if (manifest && msg.server !== 'reused') ctx.effects.progressed(m, manifest.digests.length, manifest.size, 0, now);
  if (m.view) Object.assign(m.view, { doneAt: now, servedBy: server });
  ctx.effects.counted(session, 'done');
  if (blamed && msg.badSlices) {
    const claim = { reportedBy: m.name, code: 'ERR_SLICE_DIGEST_MISMATCH' };
    ctx.effects.badSlices(blamed, msg.badSlices, session, now, claim);
  }
  ctx.effects.apply(ctx.scheduler.transferDone(m.id, now, m.session));
}

/**
 * A peer's transfer failed. Its `code` is the client's claim (about its server, or its own disk),
 * logged and shown as a report, never as the coordinator's own error. ERR_TARGET_UNUSABLE is its
 * own disk: it leaves the queues and nobody is blamed; ERR_SERVER_FULL is a busy server, tried again
 * later; anything else counts against the server it was assigned.
 */
export function onFailed(ctx: HandlerContext, m: Member, msg: ClientMessageOf<'failed'>, now: number): void {
  const session = m.session ?? '';
  const server = ctx.members.name(msg.server);
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
  ctx.effects.warn(now, 'transfer-failed', `${m.name} from ${server}: ${msg.reason}`, claim);
  ctx.effects.counted(session, 'failed');
  if (msg.code === 'ERR_TARGET_UNUSABLE') {
    ctx.effects.apply(ctx.scheduler.removeClient(m.id, now));
    return;
  }
  const blamed = assignedServer(ctx, m, msg.server);
  if (blamed) ctx.effects.badSlices(blamed, msg.badSlices.length, session, now, claim);
  // A full server (its own code, passed on as remoteCode) is not avoided: it frees a slot soon.
  const avoidServer = (msg.remoteCode ?? msg.code) !== 'ERR_SERVER_FULL';
  ctx.effects.apply(ctx.scheduler.transferFailed(m.id, now, { avoidServer }));
}

/** A peer or seeder stops (signal, local fault): it serves no more and fetches no more. */
export function onLeave(ctx: HandlerContext, m: Member, msg: ClientMessageOf<'leave'>, now: number): void {
  ctx.log.info({ peer: m.name, reason: msg.reason }, 'peer leaving');
  ctx.effects.serverGone(m, now, { lost: false, reason: msg.reason });
  ctx.effects.clientGone(m, now);
}
