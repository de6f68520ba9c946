import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkHelloProof, helloProof, newNonce, NONCE_BYTES, type HelloIdentity } from '../src/protocol/hello-auth.js';

const token = Buffer.from('correct horse battery staple');
const hello: HelloIdentity = { protocol: 2, role: 'peer', id: 'p-1', name: 'lab-12', session: 'lab-a' };

describe('hello challenge-response', () => {
  test('a nonce is 32 random bytes, different every time', () => {
    const a = newNonce();
    assert.equal(a.length, NONCE_BYTES);
    assert.notDeepEqual(a, newNonce());
  });

  test('the proof made with the token over this nonce is accepted', () => {
    const nonce = newNonce();
    assert.equal(checkHelloProof(token, nonce, hello, helloProof(token, nonce, hello)), true);
  });

  test('a proof made with another token is refused', () => {
    const nonce = newNonce();
    assert.equal(checkHelloProof(token, nonce, hello, helloProof(Buffer.from('guess'), nonce, hello)), false);
  });

  test('a proof replayed on another connection (another nonce) is refused', () => {
    const recorded = helloProof(token, newNonce(), hello);
    assert.equal(checkHelloProof(token, newNonce(), hello, recorded), false);
  });

  test('the proof binds role, id, name, session and protocol: changing any one is refused', () => {
    const nonce = newNonce();
    const proof = helloProof(token, nonce, hello);
    const changes: Partial<HelloIdentity>[] = [
      { role: 'operator' },
      { id: 'p-2' },
      { name: 'lab-13' },
      { session: 'lab-b' },
      { session: undefined },
      { protocol: 1 },
    ];
    for (const c of changes) assert.equal(checkHelloProof(token, nonce, { ...hello, ...c }, proof), false);
  });

  test('a missing, short or empty proof is refused without throwing', () => {
    const nonce = newNonce();
    assert.equal(checkHelloProof(token, nonce, hello, undefined), false);
    assert.equal(checkHelloProof(token, nonce, hello, Buffer.alloc(0)), false);
    assert.equal(checkHelloProof(token, nonce, hello, helloProof(token, nonce, hello).subarray(0, 31)), false);
  });

  test('property: any proof but the right one is refused', () => {
    const nonce = newNonce();
    const right = helloProof(token, nonce, hello);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const proof = Buffer.from(bytes);
        assert.equal(checkHelloProof(token, nonce, hello, proof), proof.equals(right));
      }),
    );
  });
});
