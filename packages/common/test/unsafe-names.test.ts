import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeClientMessage, encodeControl, PROTOCOL_VERSION } from '../src/index.js';

const hello = (name: string, id = 'p1', session = 'lab'): Buffer =>
  encodeControl({ type: 'hello', protocol: PROTOCOL_VERSION, role: 'peer', id, name, session });

describe('names with control or bidi characters (issue 16, finding 10)', () => {
  for (const bad of [
    'evil\u202Egnp.exe',
    'a\u0007',
    'esc\u001b[31m',
    'two\nlines',
    'iso\u2066x',
    'zw\u200Bsp',
    'ls\u2028',
  ]) {
    test(`hello name ${JSON.stringify(bad)} is ERR_MESSAGE_MALFORMED; so are such ids and session names`, () => {
      assert.throws(() => decodeClientMessage(hello(bad)), { code: 'ERR_MESSAGE_MALFORMED' });
      assert.throws(() => decodeClientMessage(hello('ok', bad.slice(0, 60))), { code: 'ERR_MESSAGE_MALFORMED' });
      assert.throws(() => decodeClientMessage(hello('ok', 'p1', bad)), { code: 'ERR_MESSAGE_MALFORMED' });
    });
  }

  test('ordinary names pass: spaces, accents, dashes, CJK, emoji', () => {
    for (const ok of ['lab-pc-07 (salle 2)', 'Poste élève n°3', '研究室-1', 'pc 🖥️']) {
      const m = decodeClientMessage(hello(ok));
      assert.equal(m.type === 'hello' && m.name, ok);
    }
  });
});
