/** Time source. Production uses the system clock; tests may pass a fixed or shifted one. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** A clock that can also wait: deliberate delays (tarpits, back-off) sleep through it, so tests can pass one that skips them. */
export interface WaitClock extends Clock {
  /** Resolves after `ms` milliseconds of this clock. */
  sleep(ms: number): Promise<void>;
}

export const systemClock: WaitClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Seconds since the epoch, as JWT `exp`/`iat` use (RFC 7519 §2 NumericDate). */
export function epochSeconds(clock: Clock = systemClock): number {
  return Math.floor(clock.now() / 1000);
}
