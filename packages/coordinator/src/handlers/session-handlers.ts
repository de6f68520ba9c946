import { CascadeError, parseManifest, PROTOCOL_VERSION, type ClientMessageOf } from '@cascade/common';
import type { ControlConnection } from '../net/control-connection.js';
import { checkHello } from '../net/hello-gate.js';
import type { Member, MemberConnection, SessionRecord } from '../members/member.js';
import { ServerSlot } from '../members/member.js';
import { refuseClaim, serveRight } from './claims.js';
import type { HandlerContext } from './context.js';
import { onDone } from './transfer-handlers.js';

/** What a hello needs of its connection: its challenge nonce, and closing it with a refusal. */
export type HelloConnection = MemberConnection & Pick<ControlConnection, 'nonce' | 'fail'>;

/**
 * A hello: through the gate (token, protocol), then the member table (an id already known needs
 * its secret and its role), the member is welcomed with its secret (and a peer told its image).
 */
export function onHello(ctx: HandlerContext, conn: HelloConnection, msg: ClientMessageOf<'hello'>, now: number): void {
  const refusal = checkHello(msg, conn.nonce, ctx.auth);
  if (refusal) {
    conn.fail(refusal);
    return;
  }
  const m = ctx.members.welcome(conn, msg, now);
  if (m instanceof CascadeError) {
    conn.fail(m);
    return;
  }
  ctx.effects.outcomes.joined(m, msg.machine, now);
  m.send({ type: 'welcome', protocol: PROTOCOL_VERSION, id: m.id, secret: m.secret });
  const seen = { remote: m.remote, ip: m.ip, mac: m.mac };
  ctx.log.info({ peer: m.name, id: m.id, role: m.role, session: m.session, ...seen }, 'hello');
  if (m.role === 'peer' && m.session) {
    m.showOnBoard(now);
    sendSession(ctx, m);
  }
}

/** Tell a peer about its session's image, if the session is open. */
export function sendSession(ctx: HandlerContext, m: Member): void {
  const name = m.session ?? '';
  const s = ctx.scheduler.getSession(name);
  const record = ctx.sessions.get(name);
  if (!s || !record || s.state === 'pending') return;
  if (s.state === 'ended') {
    m.send({ type: 'session-ended', session: name, reason: s.endReason ?? 'ended' });
    return;
  }
  m.send({ type: 'session', session: name, manifest: { ...record.manifest }, options: s.options });
}

/**
 * A seeder opens (or re-opens) its session with an image; the session's waiting peers learn it.
 * A seeder of the same image joining a session that is open adds a source and nothing else:
 * the gating and options stay as the session's opener set them.
 */
export function onOpenSession(ctx: HandlerContext, m: Member, msg: ClientMessageOf<'open-session'>, now: number): void {
  const session = m.session!; // seeders and peers name their session at hello
  const manifest = parseManifest(msg.manifest);
  const s = ctx.scheduler.getSession(session);
  const record = ctx.sessions.get(session);
  const open = s !== undefined && record !== undefined && s.state !== 'ended' && s.state !== 'pending';
  if (open && record.manifest.imageId !== manifest.imageId) {
    const current = record.manifest.imageId;
    m.conn?.reject(new CascadeError('ERR_SESSION_EXISTS', `session ${session} is open with image ${current}`));
    return;
  }
  if (open) {
    joinOpenSession(ctx, m, record);
    // Only its opener may say it had started: another source leaves the gating alone.
    if (msg.started && s.state === 'waiting' && record.openedBy === m.id)
      ctx.decide.openSession(session, s.image!, s.options, now, true);
    else if (s.state === 'running') ctx.effects.toldStarted(m, session);
    return;
  }
  const reopened = s?.state === 'ended';
  if (reopened) ctx.effects.outcomes.restarted(session, now);
  m.opened = { name: session, manifest, openedBy: m.id, wireEstimate: msg.wireBytes };
  ctx.sessions.set(session, m.opened);
  const { name: image, imageId, size } = manifest;
  ctx.log.info(
    { session, image, imageId, size, options: msg.options, started: msg.started === true },
    reopened ? 'session re-opened' : 'session opened',
  );
  const info = { imageId, size, name: image, sliceSize: manifest.sliceSize };
  // A session that had started before this coordinator restarted runs on: never gated again.
  ctx.decide.openSession(session, info, msg.options, now, msg.started === true);
  m.send({ type: 'ack', of: 'open-session', session });
  for (const peer of ctx.members.connected(session)) if (peer.role === 'peer') sendSession(ctx, peer);
  judgeDeferred(ctx, session, now);
}

/**
 * Dones (and serves) that came before the session's manifest, judged now that it is known: every
 * done first, so that no imaged peer is handed out as a client to one that starts serving.
 */
function judgeDeferred(ctx: HandlerContext, session: string, now: number): void {
  const waiting = [...ctx.members.connected(session)].filter((m) => m.deferred);
  const serves = waiting.map((m) => {
    const { done, serve } = m.deferred!;
    m.deferred = null;
    onDone(ctx, m, done, now);
    return serve;
  });
  waiting.forEach((m, i) => {
    const serve = serves[i];
    if (serve && m.holds === session) onServe(ctx, m, serve, now);
  });
}

/**
 * A seeder joins the open session `record`: an acknowledgement, its serve follows. The session
 * is its own again if it opened it (a reconnect), or becomes its when its opener is gone.
 */
function joinOpenSession(ctx: HandlerContext, m: Member, record: SessionRecord): void {
  const opener = ctx.members.get(record.openedBy);
  const adopt = record.openedBy === m.id || !opener?.conn;
  if (adopt) {
    record.openedBy = m.id;
    m.opened = record;
  }
  m.sourceOf = record.name;
  const how = record.openedBy === m.id ? 'seeder back' : 'another source joins';
  ctx.log.info({ session: record.name, seeder: m.name, opener: ctx.members.name(record.openedBy) }, how);
  m.send({ type: 'ack', of: 'open-session', session: record.name });
}

/** A seeder or peer offers slots: it gets its ticket key and joins the server queue. */
export function onServe(ctx: HandlerContext, m: Member, msg: ClientMessageOf<'serve'>, now: number): void {
  const session = m.session!; // seeders and peers name their session at hello
  const s = ctx.scheduler.getSession(session);
  if (m.deferred) {
    m.deferred.serve = msg; // judged with its done, once the session opens
    return;
  }
  if (!s || s.state === 'pending' || s.state === 'ended') {
    m.conn?.reject(new CascadeError('ERR_UNKNOWN_SESSION', `session ${session} is not open`));
    return;
  }
  const right = serveRight(ctx, m, msg, session);
  if (typeof right === 'string') {
    refuseClaim(ctx, m, 'serve', right);
    return;
  }
  const { relay } = right;
  m.serving ??= new ServerSlot(msg.host, msg.port);
  Object.assign(m.serving, { host: msg.host, port: msg.port });
  m.showOnBoard(now).host = `${msg.host}:${msg.port}`;
  m.send({ type: 'serving', serverId: m.id, ticketKey: m.serving.key });
  ctx.log.info(
    { server: m.name, id: m.id, host: msg.host, port: msg.port, capacity: msg.capacity, relay },
    'server ready',
  );
  ctx.decide.addServer(session, m.id, msg.capacity, now, { relay });
  ctx.effects.reannounced(m.id, now);
}
