import { FrameFlags, slicePayloadLength, type Manifest } from '@cascade/common';

/** Room zstd may need beyond a payload that does not compress (its frame and block headers). */
export const COMPRESSED_SLACK_BYTES = 64 * 1024;

/**
 * Most bytes a compressed slice may take on the wire: its payload plus zstd's worst-case growth
 * (64 KiB + 1/64), never more than a slice (the frame limit the decoder holds the server to).
 * A server sends a slice compressed only when that made it smaller, so anything above is a
 * server breaking the protocol.
 */
export function maxCompressedLength(payloadLength: number, sliceSize: number): number {
  return Math.min(sliceSize, payloadLength + COMPRESSED_SLACK_BYTES + Math.ceil(payloadLength / 64));
}

/** How a SLICE frame's length stands against the manifest: as expected, a bad slice, or over the bound. */
export type WireLengthVerdict = 'ok' | 'bad' | 'too-large';

/**
 * A raw slice carries exactly its payload (`slicePayloadLength`); a compressed one at least a
 * byte and at most `maxCompressedLength`. A ZERO flag is never an answer to a GET (bad).
 */
export function wireLengthVerdict(m: Manifest, index: number, length: number, flags: number): WireLengthVerdict {
  if ((flags & FrameFlags.ZERO) !== 0) return 'bad';
  const payload = slicePayloadLength(m, index);
  if ((flags & FrameFlags.COMPRESSED) === 0) return length === payload ? 'ok' : 'bad';
  if (length === 0) return 'bad';
  return length <= maxCompressedLength(payload, m.sliceSize) ? 'ok' : 'too-large';
}
