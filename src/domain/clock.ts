/**
 * Time as the services see it. Queues, deadlines, batching delays and keep-alive timers all go
 * through a Clock so tests drive time by hand instead of sleeping.
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch (only differences matter to the services). */
  now(): number;
  /**
   * Calls `fn` once after `ms`. `unref` timers do not keep the process alive (keep-alive
   * timers: an idle daemon must still be able to exit).
   */
  setTimer(fn: () => void, ms: number, options?: { unref?: boolean }): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms, options) {
    const handle = setTimeout(fn, Math.max(0, ms));
    if (options?.unref) handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};
