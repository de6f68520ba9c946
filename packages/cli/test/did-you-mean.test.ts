import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { editDistance, nearestOption, unknownFlags, withSuggestions } from '../src/did-you-mean.js';

const KNOWN = ['target', 'session', 'capacity', 'coordinator', 'reuse', 'rate', 'json', 'help'];

describe('did you mean', () => {
  test('edit distance counts a swap of neighbours as one edit', () => {
    assert.equal(editDistance('tagret', 'target'), 1);
    assert.equal(editDistance('sesion', 'session'), 1);
    assert.equal(editDistance('capcity', 'capacity'), 1);
    assert.ok(editDistance('zzzzzz', 'target', 2) > 2);
    assert.equal(editDistance('a', 'target', 2), 3, 'lengths further apart than the bound are not compared');
  });

  test('the nearest known option within a small distance, or none', () => {
    assert.equal(nearestOption('--tagret', KNOWN), 'target');
    assert.equal(nearestOption('--coordinater=ws://x', KNOWN), 'coordinator');
    assert.equal(nearestOption('--jsno', KNOWN), 'json');
    assert.equal(nearestOption('--zzzzzz', KNOWN), undefined);
    assert.equal(nearestOption('--xy', KNOWN), undefined);
  });

  test('unknown flags are the typed ones no option knows (--no-x is x), up to a bare --', () => {
    assert.deepEqual(unknownFlags(['peer', '--tagret', 'x', '--no-reuse', '--rate=1', '--', '--later'], KNOWN), [
      'tagret',
    ]);
  });

  test('the usage error gains one hint per near miss', () => {
    assert.equal(
      withSuggestions('Missing required argument: target', ['--tagret', 'x', '--capcity', '3'], KNOWN),
      'Missing required argument: target (--tagret: did you mean --target?; --capcity: did you mean --capacity?)',
    );
    assert.equal(withSuggestions('Unknown argument: zzzzzz', ['--zzzzzz'], KNOWN), 'Unknown argument: zzzzzz');
  });
});
