/**
 * A fixed-window counter per key (client IP, account): at most `limit` hits per `windowMs`.
 * In memory, per node; enough to slow down guessing and registration floods (RFC 7591 §5 asks
 * open registration to be rate-limited; RFC 8628 §5.1 asks the same of user-code entry).
 */
export class WindowLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #hits = new Map<string, { count: number; resetAt: number }>();

  constructor(options: { limit: number; windowMs: number; maxKeys?: number; now?: () => number }) {
    this.#limit = options.limit;
    this.#windowMs = options.windowMs;
    this.#max = options.maxKeys ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** Milliseconds until `key` may try again, or 0 when it is under the limit. Does not count. */
  blockedFor(key: string): number {
    const entry = this.#current(key);
    return entry && entry.count >= this.#limit ? entry.resetAt - this.#now() : 0;
  }

  /** Counts one hit for `key`; returns the wait in ms when this hit went over the limit, else 0. */
  hit(key: string): number {
    let entry = this.#current(key);
    if (!entry) {
      if (this.#hits.size >= this.#max) this.#sweep();
      entry = { count: 0, resetAt: this.#now() + this.#windowMs };
      this.#hits.set(key, entry);
    }
    entry.count++;
    return entry.count > this.#limit ? entry.resetAt - this.#now() : 0;
  }

  /** Forgets `key` (a successful sign-in clears its failures). */
  reset(key: string): void {
    this.#hits.delete(key);
  }

  #current(key: string): { count: number; resetAt: number } | undefined {
    const entry = this.#hits.get(key);
    if (entry && entry.resetAt <= this.#now()) {
      this.#hits.delete(key);
      return undefined;
    }
    return entry;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [k, e] of this.#hits) if (e.resetAt <= now) this.#hits.delete(k);
    // Still full of live keys: drop the oldest rather than grow without bound.
    while (this.#hits.size >= this.#max) this.#hits.delete(this.#hits.keys().next().value!);
  }
}
