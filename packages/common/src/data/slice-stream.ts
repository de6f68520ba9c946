/**
 * A slice's bytes as they become available (a relay forwarding a slice it is still receiving):
 * the length is known up front, the bytes come in order, in chunks that are referenced, not
 * copied. The slice server sends the SLICE header at once and each chunk as it comes.
 */
export interface SliceStream {
  readonly length: number;
  /** The bytes are a zstd frame of the slice's payload (FrameFlags.COMPRESSED), forwarded as they are. */
  readonly compressed?: boolean;
  /**
   * The next chunk, or null once `length` bytes were given. Rejects (ERR_SLICE_UNAVAILABLE) when
   * the rest did not come within the relay's wait.
   */
  next(): Promise<Buffer | null>;
  /** Stop early (the connection closed): releases what the stream references. */
  close(): void;
}

/** A slice's payload compressed once (the seeder's cache): sent as it is, flagged COMPRESSED. */
export interface CompressedSlice {
  readonly zstd: Buffer;
}

/** What a slice source hands the server for one slice: its payload, compressed, or a stream of either. */
export type SliceBody = Buffer | SliceStream | CompressedSlice;

export function isSliceStream(b: SliceBody | null): b is SliceStream {
  return b !== null && !Buffer.isBuffer(b) && 'next' in b;
}

export function isCompressedSlice(b: SliceBody | null): b is CompressedSlice {
  return b !== null && !Buffer.isBuffer(b) && 'zstd' in b;
}

/** Close a body that turned out not to be needed (a read-ahead when the connection closes). */
export function discardBody(body: Promise<SliceBody | null>): void {
  body.then(
    (b) => {
      if (isSliceStream(b)) b.close();
    },
    () => undefined,
  );
}

/**
 * Fault injection on a stream: flip the byte in the middle of the slice (the same byte
 * CorruptingSliceSource flips in a whole slice). Only the chunk holding it is copied.
 */
export function corruptStream(inner: SliceStream): SliceStream {
  const at = inner.length >> 1;
  let offset = 0;
  return {
    length: inner.length,
    compressed: inner.compressed === true,
    close: () => inner.close(),
    next: async () => {
      const c = await inner.next();
      if (c === null) return null;
      const start = offset;
      offset += c.length;
      if (at < start || at >= offset) return c;
      const copy = Buffer.from(c);
      copy[at - start] = (copy[at - start] ?? 0) ^ 0xff;
      return copy;
    },
  };
}
