import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { displayNames, type MemberIdentity } from '../src/members/member-names.js';
import { NameBook } from '../src/members/name-book.js';

const m = (id: string, hostname: string, ip: string | null, mac: string | null = null): MemberIdentity => ({
  ...{ id, hostname, ip, mac },
});

function names(book: NameBook, ids: string[]): string[] {
  return ids.map((id) => book.nameOf(id) ?? '?');
}

describe('NameBook: unique display names, kept as machines join', () => {
  test('the same names as displayNames for a lab joining one by one', () => {
    const lab = [
      m('1', 'lab', '10.0.3.11'),
      m('2', 'room-12', '10.0.3.13'),
      m('3', 'lab', '10.0.3.12'),
      m('4', 'vm', '127.0.0.1', 'aa:bb:cc:00:00:01'),
      m('5', 'vm', '127.0.0.1', 'aa:bb:cc:00:00:02'),
      m('6', 'vm', '127.0.0.1', null),
    ];
    const book = new NameBook();
    for (const x of lab) book.admit(x);
    const ids = lab.map((x) => x.id);
    assert.deepEqual(
      names(book, ids),
      ids.map((id) => displayNames(lab).get(id)),
    );
  });

  test('a second machine of a hostname renames the first; what changed is returned', () => {
    const book = new NameBook();
    assert.deepEqual([...book.admit(m('a', 'lab', '10.0.0.1'))], [['a', 'lab']]);
    assert.deepEqual([...book.admit(m('b', 'lab', '10.0.0.2'))].sort(), [
      ['a', 'lab-10.0.0.1'],
      ['b', 'lab-10.0.0.2'],
    ]);
    assert.deepEqual([...book.admit(m('b', 'lab', '10.0.0.2'))], [], 'the same identity again: nothing changes');
  });

  test('one host, no MAC: numbered names that stay put as others join and come back', () => {
    const book = new NameBook();
    const ids = ['p1', 'p2', 'p3', 'p4'];
    for (const id of ids) book.admit(m(id, 'vm', '127.0.0.1'));
    assert.deepEqual(names(book, ids), ['vm', 'vm-2', 'vm-3', 'vm-4']);
    book.admit(m('p2', 'vm', '127.0.0.2')); // back from another address: unique now
    assert.deepEqual(names(book, ids), ['vm', 'vm-127.0.0.2', 'vm-3', 'vm-4']);
    assert.equal(new Set(names(book, ids)).size, 4);
  });

  test('a literal name equal to a made-up one is still told apart', () => {
    const book = new NameBook();
    book.admit(m('x', 'vm-10.0.0.1', '10.0.0.9'));
    book.admit(m('a', 'vm', '10.0.0.1'));
    book.admit(m('b', 'vm', '10.0.0.2'));
    assert.equal(new Set(names(book, ['x', 'a', 'b'])).size, 3, names(book, ['x', 'a', 'b']).join(' '));
  });

  test('10,000 machines of one hostname join in linear time; forgetting the oldest keeps names unique', () => {
    const book = new NameBook();
    const started = Date.now();
    for (let i = 0; i < 10_000; i++) book.admit(m(`p${i}`, 'lab', `10.0.${i >> 8}.${i & 255}`));
    assert.ok(Date.now() - started < 3000, `${Date.now() - started} ms`);
    assert.equal(book.nameOf('p9999'), 'lab-10.0.39.15');
    book.forgetOldest();
    assert.equal(book.nameOf('p0'), undefined);
    assert.equal(book.size, 9999);
  });
});
