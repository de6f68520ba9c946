import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HandlerLab } from './handler-stubs.js';
import type { StubConnection } from './member-stubs.js';

const forged = { type: 'failed', code: 'ERR_SLICE_DIGEST_MISMATCH', reason: 'forged' } as const;

/** A peer that waited and was assigned a server; returns its connection and that server's id. */
function assigned(lab: HandlerLab, id: string): { conn: StubConnection; server: string } {
  const conn = lab.peer(id, { want: true });
  const server = conn.of('assign')[0]?.server.id;
  assert.ok(server, `${id} was assigned a server`);
  return { conn, server };
}

const quarantined = (lab: HandlerLab, id: string): boolean => lab.scheduler.getServer(id)?.quarantined ?? false;

describe('claims are checked against what the coordinator knows (issue 16, findings 1, 2, 4)', () => {
  test('bad-slice reports from clients with no transfer from the server change nothing', () => {
    const lab = new HandlerLab();
    lab.seeder();
    for (const [id, session] of [
      ['f1', 'no-such-session'],
      ['f2', 'lab'],
      ['f3', 'lab'],
    ] as const) {
      const c = lab.peer(id, { session });
      lab.send(c, { ...forged, server: 'seed', badSlices: [0, 1, 2] });
      lab.send(c, { type: 'done', server: 'seed', bytes: 1, ms: 1, badSlices: 3 });
      assert.deepEqual(
        c.rejected.map((e) => e.code),
        ['ERR_CLAIM_REFUSED', 'ERR_CLAIM_REFUSED'],
      );
    }
    assert.equal(quarantined(lab, 'seed'), false);
    assert.deepEqual(lab.warnings.list(), [], 'refused claims are not even shown as warnings');
    assert.equal(lab.scheduler.getSession('lab')?.imaged, 0);
  });

  test('a report naming a server other than the assigned one blames nobody', () => {
    const lab = new HandlerLab();
    lab.seeder('seed', 'lab', {}, 4);
    lab.seeder('seed-2', 'lab', {}, 0); // opened the same session, serves nothing: never assigned
    for (const id of ['p1', 'p2']) {
      const { conn } = assigned(lab, id);
      lab.send(conn, { ...forged, server: 'seed-2', badSlices: [0, 1, 2, 3] });
    }
    assert.equal(lab.members.get('seed-2')?.serving?.badSlices, 0);
    assert.equal(quarantined(lab, 'seed-2'), false);
  });

  test('quarantine needs reports from two distinct assigned clients, one report per assignment', () => {
    const lab = new HandlerLab();
    lab.seeder('seed', 'lab', {}, 4);
    const a = assigned(lab, 'p1');
    lab.send(a.conn, { ...forged, server: 'seed', badSlices: [0, 1, 2, 3] });
    lab.send(a.conn, { ...forged, server: 'seed', badSlices: [0, 1, 2, 3] }); // no transfer any more
    assert.equal(quarantined(lab, 'seed'), false, 'one client alone');
    const b = assigned(lab, 'p2');
    lab.send(b.conn, { ...forged, server: 'seed', badSlices: [1] });
    assert.equal(quarantined(lab, 'seed'), true);
  });

  test('a quarantined server stays quarantined when it reconnects (kept by id)', () => {
    const lab = new HandlerLab();
    const seeder = lab.seeder('seed', 'lab', {}, 4);
    for (const id of ['p1', 'p2']) {
      const { conn } = assigned(lab, id);
      lab.send(conn, { ...forged, server: 'seed', badSlices: [0, 1] });
    }
    assert.equal(quarantined(lab, 'seed'), true);
    lab.close(seeder);
    const secret = HandlerLab.secretOf(seeder);
    const again = lab.hello({ role: 'seeder', id: 'seed', name: 'seed', session: 'lab', secret });
    assert.equal(again.failedWith, null);
    lab.send(again, { type: 'serve', host: '127.0.0.5', port: 7771, capacity: 4 });
    assert.equal(again.rejected[0]?.code, 'ERR_CLAIM_REFUSED');
    assert.equal(again.of('serving').length, 0);
    const p3 = lab.peer('p3', { want: true });
    assert.equal(p3.of('assign').length, 0, 'never assigned to the quarantined server');
  });

  test("made-up peers' done {server: 'reused'} neither images anyone nor ends the session", () => {
    const lab = new HandlerLab();
    lab.seeder('seed', 'lab', { endCount: 3 });
    for (const id of ['fake-1', 'fake-2', 'fake-3']) {
      const c = lab.peer(id);
      lab.send(c, { type: 'done', server: 'reused', bytes: 0, ms: 0 });
      assert.equal(c.rejected[0]?.code, 'ERR_CLAIM_REFUSED');
    }
    const s = lab.scheduler.getSession('lab')!;
    assert.deepEqual([s.imaged, s.state === 'ended'], [0, false]);
  });

  test('done counts from an assigned client, and from one that announced every slice first (--reuse)', () => {
    const lab = new HandlerLab();
    lab.seeder('seed', 'lab', { endCount: 2 });
    const { conn, server } = assigned(lab, 'p1');
    lab.send(conn, { type: 'done', server, bytes: 4, ms: 1 });
    const reuse = lab.peer('p2');
    lab.send(reuse, { type: 'want', have: 4 });
    assert.equal(reuse.of('assign').length, 0, 'a client holding every slice is not assigned');
    lab.send(reuse, { type: 'done', server: 'reused', bytes: 0, ms: 0 });
    assert.deepEqual([...conn.rejected, ...reuse.rejected], []);
    const s = lab.scheduler.getSession('lab')!;
    assert.deepEqual([s.imaged, s.state], [2, 'ended']);
  });

  test('only a done that ends an assigned transfer makes a source; claimed holdings never do', () => {
    const lab = new HandlerLab();
    lab.seeder('seed', 'lab');
    const { conn, server } = assigned(lab, 'p1');
    lab.send(conn, { type: 'done', server, bytes: 4, ms: 1 });
    lab.send(conn, { type: 'serve', host: '127.0.0.70', port: 9004, capacity: 2 });
    assert.equal(conn.of('serving').length, 1, 'an imaged peer of an assigned transfer serves');
    for (const id of ['sybil-1', 'sybil-2']) {
      const fake = lab.peer(id);
      lab.send(fake, { type: 'want', have: 4 });
      lab.send(fake, { type: 'done', server: 'reused', bytes: 0, ms: 0 });
      lab.send(fake, { type: 'serve', host: '127.0.0.71', port: 9005, capacity: 1024 });
      assert.equal(fake.of('serving').length, 0, `${id} serves on its claim alone`);
      assert.equal(fake.rejected.at(-1)?.code, 'ERR_CLAIM_REFUSED');
    }
  });

  test('after a coordinator restart, an imaged peer back before the seeder is counted once it opens', () => {
    const lab = new HandlerLab();
    const back = lab.peer('imaged');
    lab.send(back, { type: 'want', have: 4 });
    lab.send(back, { type: 'done', server: 'old-server', bytes: 0, ms: 0 });
    lab.send(back, { type: 'serve', host: '127.0.0.69', port: 9003, capacity: 2 });
    const liar = lab.peer('liar');
    lab.send(liar, { type: 'want', have: 1 });
    lab.send(liar, { type: 'done', server: 'reused', bytes: 0, ms: 0 });
    assert.deepEqual([...back.rejected, ...liar.rejected], [], 'nothing judged before the manifest is known');
    assert.equal(lab.scheduler.getSession('lab')?.imaged ?? 0, 0);
    lab.seeder('seed', 'lab', { endCount: 3 });
    assert.equal(lab.scheduler.getSession('lab')?.imaged, 1);
    // Its holdings are its word alone: counted, but it serves nobody (issue 29, finding 1).
    assert.equal(back.of('serving').length, 0, 'a claimed image made a source');
    assert.equal(back.of('assign').length, 0, 'an imaged peer is never handed a server');
    assert.equal(liar.rejected[0]?.code, 'ERR_CLAIM_REFUSED');
  });

  test('failed from a client with no transfer is refused and does not move it up the queue', () => {
    const lab = new HandlerLab();
    lab.seeder('seed', 'lab', {}, 1);
    assigned(lab, 'p1');
    lab.peer('p2', { want: true });
    const p3 = lab.peer('p3', { want: true });
    lab.send(p3, { ...forged, code: 'ERR_SERVER_LOST', server: 'seed', badSlices: [] });
    assert.equal(p3.rejected[0]?.code, 'ERR_CLAIM_REFUSED');
    assert.deepEqual(lab.scheduler.getSession('lab')?.clientQueue.toArray(10), ['p2', 'p3']);
    const stranger = lab.peer('p4', { session: 'elsewhere' });
    lab.send(stranger, { ...forged, code: 'ERR_TARGET_UNUSABLE', server: 'seed', badSlices: [] });
    assert.equal(stranger.rejected[0]?.code, 'ERR_CLAIM_REFUSED', 'its own disk, but it is no client');
    lab.send(p3, { ...forged, code: 'ERR_TARGET_UNUSABLE', server: 'seed', badSlices: [] });
    assert.equal(lab.scheduler.getClient('p3'), undefined, 'a waiting client with a broken disk leaves');
    assert.deepEqual(
      lab.warnings.list().map((w) => w.event),
      ['transfer-failed'],
    );
  });

  test('progress counts only during a transfer the coordinator records', () => {
    const lab = new HandlerLab();
    lab.seeder('seed', 'lab', {}, 1);
    const idle = lab.peer('idle');
    lab.send(idle, { type: 'progress', slices: 4, bytes: 1 << 30, rate: 1 });
    assert.equal(idle.member?.view?.bytes, 0);
    const { conn } = assigned(lab, 'p1');
    lab.send(conn, { type: 'progress', slices: 2, bytes: 131072, rate: 1 });
    assert.equal(conn.member?.view?.bytes, 131072);
  });

  test('serve: refused from a peer without the image; accepted from the opener and a peer whose done counted', () => {
    const lab = new HandlerLab();
    lab.seeder('seed', 'lab', {}, 1);
    const early = lab.peer('early', { want: true });
    const offer = { type: 'serve', host: '127.0.0.66', port: 9000, capacity: 8 } as const;
    lab.send(early, offer);
    assert.equal(early.rejected[0]?.code, 'ERR_CLAIM_REFUSED');
    assert.equal(early.of('serving').length, 0);
    assert.equal(lab.scheduler.getServer('early'), undefined, 'never a server, never assigned');
    const other = lab.hello({ role: 'seeder', id: 'seed-x', name: 'x', session: 'lab' });
    lab.send(other, offer);
    assert.equal(other.rejected[0]?.code, 'ERR_CLAIM_REFUSED', 'a seeder that opened nothing');
    lab.send(early, { type: 'done', server: 'seed', bytes: 4, ms: 1 });
    lab.send(early, offer);
    assert.equal(early.of('serving').length, 1, 'a peer whose done was counted serves');
    assert.equal(lab.scheduler.getServer('early')?.relay, false);
  });

  test('relay sessions: a peer of the session may register as a relay, used only while it receives', () => {
    const lab = new HandlerLab();
    lab.seeder('seed', 'lab', { relay: true }, 1);
    const relay = lab.peer('r1');
    lab.send(relay, { type: 'serve', host: '127.0.0.67', port: 9001, capacity: 1, relay: true });
    assert.equal(relay.of('serving').length, 1);
    assert.equal(lab.scheduler.getServer('r1')?.relay, true);
    const p2 = lab.peer('p2', { want: true });
    assert.equal(p2.of('assign')[0]?.server.id, 'seed', 'the relay is not a client yet: never chosen');
    const p3 = lab.peer('p3', { want: true });
    assert.equal(p3.of('assign').length, 0, 'nobody is ahead of p3');
    const whole = lab.peer('p4');
    lab.send(whole, { type: 'serve', host: '127.0.0.68', port: 9002, capacity: 1 });
    assert.equal(whole.rejected[0]?.code, 'ERR_CLAIM_REFUSED', 'serving whole needs the image');
  });
});
