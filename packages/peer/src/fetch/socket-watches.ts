import type { Socket } from 'node:net';
import { CascadeError } from '@cascade/common';
import { MIN_RATE_WINDOW_MS, RateFloor } from './rate-floor.js';

// The watches on a transfer's socket: too slow (the minimum useful rate) and stalled.

/**
 * The minimum useful rate (rate-floor.ts): checked ten times per window; a server below it is
 * abandoned with ERR_SERVER_TOO_SLOW, which the pending read then throws. --stall alone would
 * let a server that trickles a byte every few seconds hold this client forever.
 */
export function rateWatch(
  socket: Socket,
  minRate: number,
  windowMs: number | undefined,
  where: string,
): RateFloor & { stop: () => void } {
  const floor = new RateFloor(minRate, windowMs ?? MIN_RATE_WINDOW_MS);
  const timer = setInterval(
    () => {
      const rate = floor.check();
      if (rate === null) return;
      const msg = `${where} sent ${Math.round(rate)} B/s over the last ${floor.windowMs / 1000} s, below the minimum useful rate of ${floor.floor} B/s`;
      socket.destroy(new CascadeError('ERR_SERVER_TOO_SLOW', msg, { details: { rate, floor: floor.floor } }));
    },
    Math.max(50, floor.windowMs / 10),
  );
  timer.unref();
  return Object.assign(floor, { stop: () => clearInterval(timer) });
}

/**
 * A read that brings nothing for stallTimeoutMs means the server is lost: the socket is
 * destroyed with ERR_SERVER_LOST, which the pending read then throws. Time spent not reading
 * (verifying, waiting for the disk) never counts. One timer, re-armed at each read.
 */
export function stallWatch(
  socket: Socket,
  ms: number,
  where: string,
): { reading: (on: boolean) => void; stop: () => void } {
  let reading = false;
  const timer = setTimeout(function check(this: void) {
    if (!reading) return void timer.refresh();
    socket.destroy(new CascadeError('ERR_SERVER_LOST', `no data from ${where} for ${ms} ms`));
  }, ms);
  return {
    reading: (on) => {
      if (on && !reading) timer.refresh();
      reading = on;
    },
    stop: () => clearTimeout(timer),
  };
}
