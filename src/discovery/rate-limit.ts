/**
 * A per-client-IP token bucket for the public discovery endpoints (the auth core's limits count
 * authentication failures, not anonymous reads). Memory is bounded: idle buckets are forgotten and
 * the table never grows past `maxClients`.
 */
export class PerIpLimiter {
  readonly #perMinute: number;
  readonly #maxClients: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(options: { perMinute: number; maxClients?: number; now?: () => number }) {
    this.#perMinute = options.perMinute;
    this.#maxClients = options.maxClients ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** Takes one token for `ip`: 0 when allowed, else the milliseconds until the next token. */
  take(ip: string): number {
    const now = this.#now();
    let bucket = this.#buckets.get(ip);
    if (bucket) {
      bucket.tokens = Math.min(this.#perMinute, bucket.tokens + ((now - bucket.at) * this.#perMinute) / 60_000);
      bucket.at = now;
    } else {
      if (this.#buckets.size >= this.#maxClients) this.#sweep(now);
      bucket = { tokens: this.#perMinute, at: now };
      this.#buckets.set(ip, bucket);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) * 60_000) / this.#perMinute);
  }

  #sweep(now: number): void {
    // a bucket idle for a minute is full again: forgetting it changes nothing
    for (const [ip, b] of this.#buckets) if (now - b.at >= 60_000) this.#buckets.delete(ip);
    // still full: drop the oldest entries (Map keeps insertion order)
    for (const ip of this.#buckets.keys()) {
      if (this.#buckets.size < this.#maxClients) break;
      this.#buckets.delete(ip);
    }
  }
}
