import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { CascadeError } from '../src/errors.js';
import {
  newTicketKey,
  signTicket,
  TICKET_KEY_BYTES,
  verifyTicket,
  type TicketClaims,
  type TicketExpectation,
} from '../src/protocol/ticket.js';

const NOW = 1_700_000_000_000;
const key = newTicketKey();
const claims: TicketClaims = {
  session: 'lab-a',
  imageId: '0123456789abcdef0123456789abcdef',
  client: 'peer-7',
  server: 'seeder-1',
  expires: NOW + 60_000,
};
const expect: TicketExpectation = { server: 'seeder-1', imageId: claims.imageId, session: 'lab-a', now: NOW };
const ticket = signTicket(claims, key);

function assertRefused(t: string, k: Uint8Array = key, e: TicketExpectation = expect): void {
  assert.throws(
    () => verifyTicket(t, k, e),
    (err: unknown) => {
      assert.ok(err instanceof CascadeError, `expected a CascadeError, got ${String(err)}`);
      assert.equal(err.code, 'ERR_TICKET_INVALID');
      return true;
    },
    `ticket ${JSON.stringify(t.slice(0, 60))} should be refused`,
  );
}

/** Sign an arbitrary body (as the coordinator would, had it signed garbage). */
function signRaw(body: string, k: Uint8Array = key): string {
  const b = Buffer.from(body).toString('base64url');
  return `${b}.${createHmac('sha256', k).update(b).digest('base64url')}`;
}

/** Replace the character at `i` with a different base64url character. */
function flipChar(s: string, i: number): string {
  const c = s[i];
  return s.slice(0, i) + (c === 'A' ? 'B' : 'A') + s.slice(i + 1);
}

describe('ticket keys', () => {
  test('a new ticket key is 32 random bytes, different every time', () => {
    const a = newTicketKey();
    const b = newTicketKey();
    assert.equal(a.length, TICKET_KEY_BYTES);
    assert.equal(TICKET_KEY_BYTES, 32);
    assert.notDeepEqual(a, b);
  });
});

describe('verifyTicket accepts', () => {
  test('a valid ticket is accepted and its claims returned', () => {
    assert.deepEqual(verifyTicket(ticket, key, expect), claims);
  });

  test('a ticket is still valid at the exact millisecond it expires', () => {
    assert.deepEqual(verifyTicket(ticket, key, { ...expect, now: claims.expires }), claims);
  });

  test('a ticket is a URL-safe string with one dot', () => {
    assert.match(ticket, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  });

  test('property: any signed claims verify against the same expectation', () => {
    fc.assert(
      fc.property(
        fc.record({
          session: fc.string({ minLength: 1, maxLength: 64 }),
          imageId: fc.stringMatching(/^[0-9a-f]{32}$/),
          client: fc.string({ minLength: 1, maxLength: 64 }),
          server: fc.string({ minLength: 1, maxLength: 64 }),
          expires: fc.integer({ min: NOW, max: NOW + 1e9 }),
        }),
        (c) => {
          const t = signTicket(c, key);
          assert.deepEqual(
            verifyTicket(t, key, { server: c.server, imageId: c.imageId, session: c.session, now: NOW }),
            { ...c },
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('verifyTicket refuses with ERR_TICKET_INVALID', () => {
  test('an expired ticket', () => {
    assertRefused(ticket, key, { ...expect, now: claims.expires + 1 });
    assertRefused(signTicket({ ...claims, expires: NOW - 1 }, key));
  });

  test('a ticket whose expiry is not a number', () => {
    assertRefused(signRaw(JSON.stringify({ ...claims, expires: String(NOW + 60_000) })));
    assertRefused(signRaw(JSON.stringify({ ...claims, expires: undefined })));
  });

  test('a ticket for another server', () => {
    assertRefused(ticket, key, { ...expect, server: 'peer-3' });
  });

  test('a ticket for another image', () => {
    assertRefused(ticket, key, { ...expect, imageId: 'ffffffffffffffffffffffffffffffff' });
  });

  test('a ticket for another session', () => {
    assertRefused(ticket, key, { ...expect, session: 'lab-b' });
  });

  test('a ticket whose body was changed but whose signature was kept', () => {
    const sig = ticket.slice(ticket.indexOf('.') + 1);
    const forgedBody = Buffer.from(JSON.stringify({ ...claims, expires: NOW + 1e12 })).toString('base64url');
    assertRefused(`${forgedBody}.${sig}`);
    const other = signTicket({ ...claims, client: 'peer-8' }, key);
    assertRefused(`${other.slice(0, other.indexOf('.'))}.${sig}`);
  });

  test('a ticket with one character of its body changed', () => {
    assertRefused(flipChar(ticket, 5));
  });

  test('a ticket with one character of its signature changed', () => {
    const dot = ticket.indexOf('.');
    assertRefused(flipChar(ticket, dot + 1));
    assertRefused(flipChar(ticket, dot + 20));
  });

  test('a ticket whose signature has extra characters appended', () => {
    assertRefused(`${ticket}!!`);
    assertRefused(`${ticket}AAAA`);
    assertRefused(`${ticket}.`);
  });

  test('a ticket whose last signature character differs only in its unused bits', () => {
    // 32 MAC bytes take 43 base64url characters; the last one carries 2 spare bits. Flipping one
    // decodes to the same bytes, so only a canonical-form check refuses it.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sig = ticket.slice(ticket.indexOf('.') + 1);
    assert.equal(sig.length, 43);
    const last = alphabet.indexOf(sig.at(-1) as string);
    const twin = ticket.slice(0, -1) + alphabet[last ^ 1];
    assert.deepEqual(Buffer.from(twin.slice(twin.indexOf('.') + 1), 'base64url'), Buffer.from(sig, 'base64url'));
    assertRefused(twin);
  });

  test('a ticket whose signature was cut short or removed', () => {
    assertRefused(ticket.slice(0, -4));
    assertRefused(ticket.slice(0, ticket.indexOf('.') + 1));
  });

  test('a ticket signed with another key', () => {
    assertRefused(signTicket(claims, newTicketKey()));
    assertRefused(ticket, newTicketKey());
  });

  test('a malformed ticket', () => {
    for (const t of ['', '.', 'no-dot-at-all', `.${ticket}`, ticket.replace('.', ''), 'x'.repeat(3000) + ticket]) {
      assertRefused(t);
    }
  });

  test('a ticket longer than 2048 characters, even if correctly signed', () => {
    assertRefused(signTicket({ ...claims, client: 'c'.repeat(2000) }, key), key);
  });

  test('a correctly signed body that is not JSON', () => {
    assertRefused(signRaw('not json at all'));
  });

  test('a correctly signed body that is JSON but not an object', () => {
    for (const body of ['null', '42', '"lab-a"', '[]', 'true']) assertRefused(signRaw(body));
  });

  test('property: a ticket with any one character changed is refused', () => {
    fc.assert(
      fc.property(fc.nat({ max: ticket.length - 1 }), fc.constantFrom(...'ABCxyz019-_.!'), (i, c) => {
        fc.pre(ticket[i] !== c);
        assertRefused(ticket.slice(0, i) + c + ticket.slice(i + 1));
      }),
      { numRuns: 500 },
    );
  });
});
