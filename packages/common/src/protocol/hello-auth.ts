import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Challenge–response for the session token. The coordinator sends a fresh random nonce as the
 * first message on every connection; a client that knows the token answers in its hello with
 * HMAC-SHA256(token, nonce ‖ protocol ‖ role ‖ id ‖ name ‖ session). The token never crosses the
 * wire, and an answer recorded on one connection is worthless on any other (another nonce).
 */
export const NONCE_BYTES = 32;

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

export interface HelloIdentity {
  protocol: number;
  role: string;
  id: string;
  name: string;
  session?: string | undefined;
}

/** The proof a client puts in `hello.auth`. */
export function helloProof(token: Uint8Array, nonce: Uint8Array, h: HelloIdentity): Buffer {
  const bound = JSON.stringify(['cascade-hello', h.protocol, h.role, h.id, h.name, h.session ?? null]);
  return createHmac('sha256', token).update(nonce).update(bound).digest();
}

/** True when `proof` answers this connection's `nonce` for exactly this hello; constant-time. */
export function checkHelloProof(
  token: Uint8Array,
  nonce: Uint8Array,
  h: HelloIdentity,
  proof: Uint8Array | undefined,
): boolean {
  if (!proof) return false;
  const want = helloProof(token, nonce, h);
  return proof.length === want.length && timingSafeEqual(proof, want);
}
