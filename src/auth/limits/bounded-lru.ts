/**
 * A map with a size bound for counters keyed by client input (addresses, account names): at the
 * bound, entries `isStale` says are dead go first, then the least recently used, down to 90 % so
 * the sweep runs once per tenth of the bound, not on every insert.
 */
export class BoundedLru<V> {
  readonly #map = new Map<string, V>();
  readonly #max: number;
  readonly #isStale: (value: V, now: number) => boolean;

  constructor(max: number, isStale: (value: V, now: number) => boolean) {
    this.#max = Math.max(1, max);
    this.#isStale = isStale;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value without marking it used. */
  peek(key: string): V | undefined {
    return this.#map.get(key);
  }

  values(): IterableIterator<V> {
    return this.#map.values();
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  /** Stores `value` as the most recently used entry, making room first when `key` is new. */
  set(key: string, value: V, now: number): void {
    if (this.#map.has(key)) this.#map.delete(key);
    else this.#makeRoom(now);
    this.#map.set(key, value);
  }

  /** The entry for `key`, created with `create` when missing, marked most recently used. */
  touch(key: string, create: () => V, now: number): V {
    const value = this.#map.get(key) ?? create();
    this.set(key, value, now);
    return value;
  }

  #makeRoom(now: number): void {
    if (this.#map.size < this.#max) return;
    const target = Math.floor(this.#max * 0.9);
    for (const [k, v] of this.#map) if (this.#isStale(v, now)) this.#map.delete(k);
    for (const k of this.#map.keys()) {
      if (this.#map.size <= target) break;
      this.#map.delete(k);
    }
  }
}
