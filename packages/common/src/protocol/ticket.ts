import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CascadeError } from '../errors.js';

/**
 * A ticket lets one client fetch from one server for one image of one session until it expires.
 * The coordinator signs it with a key it gave that server when the server registered, so the
 * server checks it on its own, with no round trip.
 */
export interface TicketClaims {
  session: string;
  imageId: string;
  client: string;
  server: string;
  /** Expiry, ms since the epoch. */
  expires: number;
}

export const TICKET_KEY_BYTES = 32;

export function newTicketKey(): Buffer {
  return randomBytes(TICKET_KEY_BYTES);
}

function mac(key: Uint8Array, body: string): Buffer {
  return createHmac('sha256', key).update(body).digest();
}

export function signTicket(claims: TicketClaims, key: Uint8Array): string {
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${body}.${mac(key, body).toString('base64url')}`;
}

export interface TicketExpectation {
  server: string;
  imageId: string;
  session: string;
  now: number;
}

/** Verify a ticket for this server; returns its claims or throws ERR_TICKET_INVALID. */
export function verifyTicket(ticket: string, key: Uint8Array, expect: TicketExpectation): TicketClaims {
  const fail = (why: string): never => {
    throw new CascadeError('ERR_TICKET_INVALID', `ticket refused: ${why}`);
  };
  const dot = ticket.indexOf('.');
  if (dot <= 0 || ticket.length > 2048) fail('malformed');
  const body = ticket.slice(0, dot);
  const sigText = ticket.slice(dot + 1);
  const sig = Buffer.from(sigText, 'base64url');
  const want = mac(key, body);
  // Base64url decoding skips junk and ignores the last character's spare bits: demand the one canonical form.
  if (sig.length !== want.length || !timingSafeEqual(sig, want) || sig.toString('base64url') !== sigText) {
    fail('bad signature');
  }
  let claims: TicketClaims;
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TicketClaims;
  } catch {
    return fail('malformed body');
  }
  if (typeof claims !== 'object' || claims === null) fail('malformed body');
  if (claims.server !== expect.server) fail('issued for another server');
  if (claims.imageId !== expect.imageId) fail('issued for another image');
  if (claims.session !== expect.session) fail('issued for another session');
  if (typeof claims.expires !== 'number' || claims.expires < expect.now) fail('expired');
  return claims;
}
