import { z } from 'zod';

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** Session options set by the seeder (and changeable by an operator while waiting). */
export const sessionOptionsSchema = z.object({
  /** Start when this many clients wait. */
  startCount: count.optional(),
  /** Start this long after the session opened. */
  startAfterMs: count.optional(),
  /** Start only on an operator's `cascade start`. */
  startManual: z.boolean().optional(),
  /** End once this many machines are imaged. */
  endCount: count.optional(),
  /** End after this long with no client waiting and no transfer running. */
  lingerMs: count.optional(),
  /**
   * When the seeder that opened the session stops, the session goes on while another complete
   * source (another seeder, an imaged peer) serves, instead of ending.
   */
  handover: z.boolean().optional(),
  /** Peers serve verified slices while still downloading. */
  relay: z.boolean().optional(),
});
export type SessionOptions = z.infer<typeof sessionOptionsSchema>;
