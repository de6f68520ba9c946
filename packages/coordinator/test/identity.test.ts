import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { helloProof, type Role } from '@cascade/common';
import { MemberTable } from '../src/members/member-table.js';
import { HandlerLab } from './handler-stubs.js';
import { admit, helloOf, StubConnection } from './member-stubs.js';

const TOKEN = Buffer.from('lab-token');

describe('identity: a member id cannot be taken (issue 16, finding 3)', () => {
  test('the first welcome carries a random secret, different for every member', () => {
    const lab = new HandlerLab();
    const a = HandlerLab.secretOf(lab.peer('p1'));
    const b = HandlerLab.secretOf(lab.peer('p2'));
    assert.ok(a && b && a.length >= 32);
    assert.notEqual(a, b);
  });

  for (const role of ['seeder', 'peer', 'observer', 'operator'] as const) {
    test(`a ${role} hello under the seeder's id without its secret gets ERR_ID_TAKEN; the seeder keeps everything`, () => {
      const lab = new HandlerLab();
      const seeder = lab.seeder();
      const slot = seeder.member!.serving!;
      const key = slot.key;
      for (const secret of [undefined, 'guess']) {
        const rogue = lab.hello({ role, id: 'seed', name: 'x', session: 'lab', ...(secret ? { secret } : {}) });
        assert.equal(rogue.failedWith?.code, 'ERR_ID_TAKEN');
        assert.equal(rogue.sent.length, 0, 'no welcome');
        lab.send(rogue, { type: 'serve', host: '10.9.9.9', port: 9, capacity: 1024 });
        assert.equal(rogue.of('serving').length, 0);
      }
      assert.equal(seeder.wasReplaced, false);
      assert.equal(seeder.member!.conn, seeder, 'the seeder keeps its connection');
      assert.deepEqual([slot.host, slot.port, slot.key], ['127.0.0.5', 7771, key]);
      assert.equal(lab.scheduler.getServer('seed')?.capacity, 2);
    });
  }

  test('with the secret the member reconnects (its old connection replaced); never as another role', () => {
    const lab = new HandlerLab();
    const first = lab.peer('p1');
    const secret = HandlerLab.secretOf(first)!;
    const asSeeder = lab.hello({ role: 'seeder', id: 'p1', name: 'p1', session: 'lab', secret });
    assert.equal(asSeeder.failedWith?.code, 'ERR_ROLE_FORBIDDEN');
    const again = lab.hello({ role: 'peer', id: 'p1', name: 'p1', session: 'lab', secret });
    assert.equal(again.failedWith, null);
    assert.equal(HandlerLab.secretOf(again), secret, 'the same secret in every welcome');
    assert.equal(first.wasReplaced, true);
    assert.equal(again.member, first.member);
  });

  test('a departed peer is remembered: its id needs the secret until it is forgotten (time or count)', () => {
    const lab = new HandlerLab({ retention: { maxDeparted: 2, departedTtlMs: 60_000 } });
    const conn = lab.peer('gone', { want: true });
    const secret = HandlerLab.secretOf(conn)!;
    lab.close(conn);
    assert.equal(lab.hello({ role: 'peer', id: 'gone', name: 'x', session: 'lab' }).failedWith?.code, 'ERR_ID_TAKEN');
    const back = lab.hello({ role: 'peer', id: 'gone', name: 'gone', session: 'lab', secret });
    assert.equal(back.failedWith, null, 'the member itself comes back');
    lab.close(back);
    lab.now += 60_000;
    assert.equal(lab.hello({ role: 'peer', id: 'gone', name: 'x', session: 'lab' }).failedWith, null, 'forgotten');

    const t = new MemberTable({ maxDeparted: 2, departedTtlMs: 60_000 });
    for (const id of ['a', 'b', 'c']) {
      const c = new StubConnection();
      const m = admit(t, c, helloOf(id, 'peer', 'lab'));
      t.disconnected(c);
      t.settle(m, 0);
    }
    assert.equal(t.size, 2, 'the oldest departed record was forgotten');
    assert.equal(t.get('a'), undefined);
  });

  test('observers and operators are forgotten once they close: they hold nothing to take over', () => {
    const lab = new HandlerLab();
    const obs = lab.hello({ role: 'observer', id: 'o1', name: 'o1' });
    assert.equal(lab.hello({ role: 'observer', id: 'o1', name: 'o1' }).failedWith?.code, 'ERR_ID_TAKEN', 'while open');
    lab.close(obs);
    assert.equal(lab.hello({ role: 'observer', id: 'o1', name: 'o1' }).failedWith, null);
  });

  test('observers receive nothing but status, even when they name a session', () => {
    const lab = new HandlerLab();
    const obs = lab.hello({ role: 'observer', id: 'o1', name: 'o1', session: 'lab' });
    lab.seeder('seed', 'lab', { endCount: 1 });
    const p = lab.peer('p1', { want: true });
    lab.send(p, { type: 'done', server: 'seed', bytes: 1, ms: 1 });
    assert.equal(lab.scheduler.getSession('lab')?.state, 'ended');
    for (const msg of [
      { type: 'want', have: 0 },
      { type: 'serve', host: 'h', port: 1, capacity: 1 },
    ] as const) {
      lab.send(obs, msg);
      assert.equal(obs.rejected.at(-1)?.code, 'ERR_ROLE_FORBIDDEN');
    }
    lab.send(obs, { type: 'get-status' });
    assert.deepEqual(
      obs.sent.map((m) => m.type),
      ['welcome', 'status'],
    );
  });

  test('status snapshots never carry a secret', () => {
    const lab = new HandlerLab();
    const secrets = [HandlerLab.secretOf(lab.seeder()), HandlerLab.secretOf(lab.peer('p1', { want: true }))];
    const json = JSON.stringify(lab.ctx.status());
    for (const s of secrets) assert.ok(s && !json.includes(s));
    assert.doesNotMatch(json, /secret/i);
  });

  for (const role of ['seeder', 'peer', 'observer', 'operator'] as Role[]) {
    test(`with a token, a ${role} without it is refused with ERR_AUTH_REQUIRED${role === 'observer' ? ' unless --public-status' : ''}`, () => {
      const lab = new HandlerLab({ auth: { token: TOKEN } });
      const session = role === 'seeder' || role === 'peer' ? 'lab' : undefined;
      assert.equal(lab.hello({ role, id: 'x', name: 'x', session }).failedWith?.code, 'ERR_AUTH_REQUIRED');
      const h = { protocol: 2, role, id: 'y', name: 'y', session };
      const proved = lab.hello({ ...h, auth: helloProof(TOKEN, new Uint8Array(32), h) });
      assert.equal(proved.failedWith, null, 'with the token it is welcomed');
      const open = new HandlerLab({ auth: { token: TOKEN, publicStatus: true } });
      const answer = open.hello({ role, id: 'x', name: 'x', session }).failedWith?.code;
      assert.equal(answer, role === 'observer' ? undefined : 'ERR_AUTH_REQUIRED');
    });
  }

  test('with --public-status, an observer without the token cannot take a waiting peer id', () => {
    const lab = new HandlerLab({ auth: { token: TOKEN, publicStatus: true } });
    const h = { protocol: 2, role: 'peer' as const, id: 'victim', name: 'v', session: 'lab' };
    const victim = lab.hello({ ...h, auth: helloProof(TOKEN, new Uint8Array(32), h) });
    assert.equal(victim.failedWith, null);
    const spy = lab.hello({ role: 'observer', id: 'victim', name: 'spy' });
    assert.equal(spy.failedWith?.code, 'ERR_ID_TAKEN');
    assert.equal(victim.member?.conn, victim);
  });
});
