/**
 * Every error cascade raises carries a stable `code` that scripts, logs and tests can match on.
 * The codes are listed here, in one place, with what they mean.
 */
export const ErrorCodes = {
  // configuration and input
  ERR_BAD_CONFIG: 'a flag, environment variable or kernel command-line value is invalid',
  ERR_BAD_UNIT: 'a size, rate or duration could not be parsed',
  // control plane
  ERR_MESSAGE_MALFORMED: 'a control message is not a msgpack map of a known shape',
  ERR_MESSAGE_TOO_LARGE: 'a control message exceeds the maximum message size',
  ERR_MESSAGE_UNKNOWN_TYPE: 'a control message has a type this protocol does not know',
  ERR_PROTOCOL_VERSION: 'the peer speaks another protocol version',
  ERR_HELLO_REQUIRED: 'the first message on a connection must be hello',
  ERR_HELLO_TIMEOUT: 'no hello arrived in time',
  ERR_TOO_MANY_BAD_MESSAGES: 'the connection sent too many invalid messages and was closed',
  ERR_TOO_MANY_CONNECTIONS: 'the coordinator or server is at its connection limit (in total or for that address)',
  ERR_RATE_LIMITED: 'the connection sent more messages per second than allowed and was closed',
  ERR_AUTH_REQUIRED: 'the coordinator requires a session token and the hello carried no proof of it',
  ERR_AUTH_FAILED:
    'the hello proof of the session token is wrong (wrong token, or an answer replayed from another connection)',
  ERR_ROLE_FORBIDDEN: 'this role may not send this message, or a known member said hello as another role',
  ERR_ID_TAKEN: 'a member with this id is known to the coordinator and the hello did not carry its secret',
  ERR_CLAIM_REFUSED:
    'the coordinator does not believe this claim (a report about a server it did not assign, a done without a transfer, a serve without the image)',
  ERR_UNKNOWN_SESSION: 'no session of that name exists',
  ERR_TOO_MANY_SESSIONS:
    'the coordinator holds its maximum of sessions no seeder has opened (in total or for that address); retry later',
  ERR_SESSION_EXISTS: 'a session of that name is already open with another image',
  ERR_SESSION_ENDED: 'the session has ended',
  ERR_COORDINATOR_UNREACHABLE: 'the coordinator could not be reached',
  ERR_DISCOVERY_MALFORMED: 'a discovery datagram is not a valid request or reply',
  ERR_DISCOVERY_FAILED: 'no coordinator answered the discovery broadcast in time',
  // data plane
  ERR_FRAME_MALFORMED: 'a data-plane frame is malformed',
  ERR_FRAME_TOO_LARGE: 'a data-plane frame exceeds its size limit',
  ERR_TICKET_INVALID: 'the ticket is missing, forged, expired, or for another server or image',
  ERR_SERVER_FULL: 'the server is already serving its capacity of clients',
  ERR_SLICE_UNAVAILABLE: 'the server does not hold that slice (yet)',
  ERR_SLICE_OUT_OF_RANGE: 'the slice index is outside the image',
  ERR_TOO_MANY_REQUESTS: 'the client has too many requests outstanding',
  ERR_SLICE_DIGEST_MISMATCH: 'a received slice does not match the manifest digest',
  ERR_SLICE_DECOMPRESS:
    'a received compressed slice is corrupt, truncated, not zstd, or does not decompress to its image length',
  ERR_SERVER_LOST: 'the connection to the server was lost or stalled',
  ERR_SERVER_UNREACHABLE:
    'the server could not be reached (refused, or no answer within the connect timeout): a network fault, not a verification failure',
  ERR_NO_SOURCE: 'the session has no complete source (no seeder, no imaged peer serving): it waits until one returns',
  ERR_SERVER_BAD: 'the server sent bad slices repeatedly',
  ERR_SERVER_TOO_SLOW:
    'the server sent bytes, but slower than the minimum useful rate (--min-rate) over a sliding window: the client moved on',
  ERR_SERVER_REFUSED:
    'the server answered with an ERROR frame; its own code is in `remoteCode` (never taken as a local cause)',
  // manifest and image
  ERR_MANIFEST_INVALID: 'the manifest is malformed or its imageId does not match its content',
  ERR_MANIFEST_UNSIGNED: 'the manifest carries no signature, but this peer trusts only signed manifests',
  ERR_MANIFEST_SIGNATURE_INVALID: 'the manifest signature does not match its content',
  ERR_MANIFEST_KEY_UNTRUSTED: 'the manifest is signed by a key this peer does not trust',
  ERR_KEY_INVALID: 'a signing key, public key, certificate or token file could not be read or parsed',
  ERR_IMAGE_UNREADABLE: 'the image could not be read',
  ERR_IMAGE_CHANGED: 'the image changed while it was being served',
  ERR_DISK_MAP:
    'a partition table or filesystem allocation map could not be read or looks inconsistent (that area is sent whole)',
  // peer target
  ERR_TARGET_UNUSABLE: 'the target cannot be opened or written',
  ERR_TARGET_TOO_SMALL: 'the target is smaller than the image',
  ERR_TARGET_IN_USE: 'the target is mounted, or holds the running system (override with --force)',
  ERR_VERIFY_FAILED: 'the image could not be verified after retries',
  ERR_INCOMPLETE: 'the session ended before the image was complete',
  ERR_INTERNAL: 'an unexpected error inside cascade (a bug: please report it with the log)',
  ERR_STOPPED: 'the peer was stopped (SIGINT/SIGTERM) before its image was complete',
  ERR_MOVED: 'the coordinator moved the transfer to another server (a slow machine on the way); not a failure',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export interface CascadeErrorOptions {
  cause?: unknown;
  /** Extra structured fields for logs. */
  details?: Record<string, unknown>;
  /** The code a remote end sent, when this error wraps it (ERR_SERVER_REFUSED). */
  remoteCode?: string;
}

/** Base error: a stable `code`, a human message, optional cause and structured details. */
export class CascadeError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  /** The code a remote end sent, when this error wraps it (ERR_SERVER_REFUSED); never a local cause. */
  readonly remoteCode: string | undefined;

  constructor(code: ErrorCode, message: string, options: CascadeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CascadeError';
    this.code = code;
    this.details = options.details;
    this.remoteCode = options.remoteCode;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** True when `err` is a CascadeError, optionally with the given code. */
export function isCascadeError(err: unknown, code?: ErrorCode): err is CascadeError {
  return err instanceof CascadeError && (code === undefined || err.code === code);
}

/** Turn anything thrown into a CascadeError, keeping the original as cause. */
export function toCascadeError(err: unknown, fallback: ErrorCode): CascadeError {
  if (err instanceof CascadeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CascadeError(fallback, message, { cause: err });
}

/** Codes a slice server may put in an ERROR frame (slice-connection.ts, serve-image.ts, slice-source.ts). */
export const SERVER_SENDABLE_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'ERR_FRAME_MALFORMED',
  'ERR_FRAME_TOO_LARGE',
  'ERR_HELLO_REQUIRED',
  'ERR_HELLO_TIMEOUT',
  'ERR_TICKET_INVALID',
  'ERR_SERVER_FULL',
  'ERR_SERVER_LOST',
  'ERR_SLICE_UNAVAILABLE',
  'ERR_SLICE_OUT_OF_RANGE',
  'ERR_TOO_MANY_REQUESTS',
  'ERR_IMAGE_UNREADABLE',
  'ERR_IMAGE_CHANGED',
  'ERR_TOO_MANY_CONNECTIONS',
]);

/**
 * Wrap an ERROR frame a server sent: always ERR_SERVER_REFUSED, the server's code kept as
 * `remoteCode` when it is one a server may send (anything else is named in the message only).
 */
export function serverRefusal(server: string, code: string, message: string): CascadeError {
  const known = SERVER_SENDABLE_CODES.has(code);
  const text = known
    ? `server ${server} refused: ${message} (${code})`
    : `server ${server} sent an error code a server may not send (${code.slice(0, 64)}): ${message}`;
  return new CascadeError('ERR_SERVER_REFUSED', text, known ? { remoteCode: code } : {});
}
