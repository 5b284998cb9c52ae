/** Time source. Production uses the system clock; tests may pass a fixed or shifted one. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Seconds since the epoch, as JWT `exp`/`iat` use (RFC 7519 §2 NumericDate). */
export function epochSeconds(clock: Clock = systemClock): number {
  return Math.floor(clock.now() / 1000);
}
