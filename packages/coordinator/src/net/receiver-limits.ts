import type WebSocket from 'ws';

/**
 * Per-connection limits on ws's frame parser. ws takes `maxPayload` once, for the whole server,
 * and its Receiver checks it as every frame header arrives, counting the fragments of an
 * unfinished message together: the server starts every connection at the hello-sized limit, and
 * a connection whose hello passed gets the full message limit here. ws keeps these fields
 * private (`_receiver._maxPayload`, `_bufferedBytes`, `_totalPayloadLength`); if a ws release
 * renames them, `raiseMaxPayload` throws (hello-passed members would otherwise be stuck at the
 * hello size without a word) and `heldBytes` reports 0.
 */
interface ReceiverFields {
  _maxPayload: number;
  _bufferedBytes: number;
  _totalPayloadLength: number;
}

function receiverOf(ws: WebSocket): Partial<ReceiverFields> | null {
  const r: unknown = Reflect.get(ws, '_receiver');
  return r !== null && typeof r === 'object' ? r : null;
}

/** Let `ws` receive messages of up to `bytes` from now on (its hello passed). */
export function raiseMaxPayload(ws: WebSocket, bytes: number): void {
  const r = receiverOf(ws);
  if (!r || typeof r._maxPayload !== 'number') throw new Error('ws receiver has no _maxPayload: check the ws version');
  r._maxPayload = bytes;
}

/** Bytes `ws`'s parser holds now: an unfinished frame plus the fragments of an unfinished message. */
export function heldBytes(ws: WebSocket): number {
  const r = receiverOf(ws);
  if (!r) return 0;
  return (r._bufferedBytes ?? 0) + (r._totalPayloadLength ?? 0);
}
