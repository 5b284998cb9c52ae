/**
 * A bounded cache whose entries expire `ttlMs` after they were stored: what LDAP said about an
 * address (an entry, or that there is none) is reused for at most that long. When full, the entry
 * stored first goes.
 */
export class ExpiringCache<K, V> {
  readonly #entries = new Map<K, { value: V; until: number }>();
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(ttlMs: number, max: number, now: () => number) {
    this.#ttlMs = ttlMs;
    this.#max = max;
    this.#now = now;
  }

  /** The stored value while it is fresh; `undefined` when absent or expired. */
  get(key: K): { value: V } | undefined {
    const hit = this.#entries.get(key);
    if (!hit) return undefined;
    if (hit.until <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return { value: hit.value };
  }

  set(key: K, value: V): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value as K);
    this.#entries.set(key, { value, until: this.#now() + this.#ttlMs });
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
