import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { KeyedQueue } from '../src/scheduler/keyed-queue.js';

describe('KeyedQueue', () => {
  test('keeps FIFO order and ignores a key pushed twice', () => {
    const q = new KeyedQueue<string>();
    for (const k of ['a', 'b', 'c', 'a']) q.pushBack(k);
    assert.deepEqual(q.toArray(), ['a', 'b', 'c']);
    assert.equal(q.shift(), 'a');
    assert.equal(q.size, 2);
  });

  test('pushFront puts a key at the head and removal skips the key', () => {
    const q = new KeyedQueue<string>(4);
    q.pushBack('a');
    q.pushBack('b');
    q.pushFront('z');
    q.remove('a');
    assert.deepEqual(q.toArray(), ['z', 'b']);
    assert.equal(q.peek(), 'z');
    assert.equal(q.has('a'), false);
  });

  test('behaves like an array model under any mix of operations', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.constantFrom('back', 'front', 'shift', 'remove', 'sort'), fc.integer({ min: 0, max: 20 })),
          {
            maxLength: 300,
          },
        ),
        (ops) => {
          const q = new KeyedQueue<number>(4);
          let model: number[] = [];
          for (const [op, k] of ops) {
            if (op === 'back' && !model.includes(k)) model.push(k);
            if (op === 'front' && !model.includes(k)) model.unshift(k);
            if (op === 'back') q.pushBack(k);
            if (op === 'front') q.pushFront(k);
            if (op === 'shift') assert.equal(q.shift(), model.shift());
            if (op === 'sort') {
              // by parity, stable: the model's order within each parity stays
              const byParity = (a: number, b: number): number => (a % 2) - (b % 2);
              q.sortStable(byParity);
              model = [...model].sort(byParity);
            }
            if (op === 'remove') {
              assert.equal(q.remove(k), model.includes(k));
              model = model.filter((x) => x !== k);
            }
            assert.equal(q.size, model.length);
          }
          assert.deepEqual(q.toArray(), model);
        },
      ),
    );
  });
});
