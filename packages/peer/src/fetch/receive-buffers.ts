import { BufferPool, type Frame } from '@cascade/common';

/**
 * Slice bodies are read straight into reused buffers (buffer-pool.ts; frame-reader.ts), shared by
 * every transfer, each over shared memory that the hashing threads read where it lies.
 */
const sliceBuffers = new Map<number, BufferPool>();
/** Free slice buffers kept: about what a transfer holds at once (window, verifying, writing, relayed). */
const SLICE_BUFFERS_KEPT_BYTES = 48 * 1024 * 1024;

export function slicePool(sliceSize: number): BufferPool {
  let pool = sliceBuffers.get(sliceSize);
  if (!pool) {
    sliceBuffers.clear(); // one image per peer: a pool of another slice size is not needed again
    pool = new BufferPool(sliceSize, Math.max(4, Math.floor(SLICE_BUFFERS_KEPT_BYTES / sliceSize)), true);
    sliceBuffers.set(sliceSize, pool);
  }
  return pool;
}

/** Frames decoded but not handled (the transfer ended first): their pooled bytes are not needed. */
export function dropFrames(frames: Frame[], from: number): void {
  for (let i = from; i < frames.length; i++) frames[i]?.release?.();
}
