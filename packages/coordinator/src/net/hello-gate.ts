import { CascadeError, checkHelloProof, PROTOCOL_VERSION, type ClientMessageOf } from '@cascade/common';

export interface HelloPolicy {
  /** Session token; when set, every hello must prove it (challenge–response). */
  token?: Uint8Array | undefined;
  /** With a token: observers (status only) may still connect without it. */
  publicStatus?: boolean | undefined;
}

/**
 * Whether a hello may pass: protocol version, a session for seeders and peers, and — with a
 * token configured — a proof of the token over this connection's nonce. Returns the refusal.
 */
export function checkHello(msg: ClientMessageOf<'hello'>, nonce: Uint8Array, policy: HelloPolicy): CascadeError | null {
  if (msg.protocol !== PROTOCOL_VERSION) {
    return new CascadeError(
      'ERR_PROTOCOL_VERSION',
      `coordinator speaks protocol ${PROTOCOL_VERSION}, got ${msg.protocol}`,
    );
  }
  if (policy.token) {
    if (!msg.auth) {
      if (msg.role === 'observer' && policy.publicStatus) return null;
      return new CascadeError(
        'ERR_AUTH_REQUIRED',
        'this coordinator requires the session token (--token-file or CASCADE_TOKEN)',
      );
    }
    if (!checkHelloProof(policy.token, nonce, msg, msg.auth)) {
      return new CascadeError(
        'ERR_AUTH_FAILED',
        'token proof refused: wrong token, or an answer replayed from another connection',
      );
    }
  }
  if ((msg.role === 'seeder' || msg.role === 'peer') && !msg.session) {
    return new CascadeError('ERR_BAD_CONFIG', `a ${msg.role} must name its session`);
  }
  return null;
}
