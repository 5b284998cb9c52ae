import { createHmac, createSecretKey, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Remembers recently verified (account, password) pairs as keyed digests, so a client that opens
 * many connections does not pay argon2 each time. Only digests under a per-process random key are
 * kept; entries expire and are dropped when the account's credentials change.
 */
export class VerifiedPasswordCache {
  /** A KeyObject, so each digest skips re-importing raw key bytes. */
  readonly #key = createSecretKey(randomBytes(32));
  readonly #entries = new Map<number, { digest: Buffer; until: number; credentialsChangedAt: number }>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(ttlMs = 300_000, max = 10_000) {
    this.#ttlMs = ttlMs;
    this.#max = max;
  }

  #digest(accountId: number, password: string): Buffer {
    return createHmac('sha256', this.#key).update(`${accountId}\0${password}`).digest();
  }

  /** True when this exact password was verified for the account recently and nothing changed since. */
  hit(accountId: number, password: string, credentialsChangedAt: number, now = Date.now()): boolean {
    const entry = this.#entries.get(accountId);
    if (!entry) return false;
    if (entry.until < now || entry.credentialsChangedAt !== credentialsChangedAt) {
      this.#entries.delete(accountId);
      return false;
    }
    return timingSafeEqual(entry.digest, this.#digest(accountId, password));
  }

  remember(accountId: number, password: string, credentialsChangedAt: number, now = Date.now()): void {
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(accountId, { digest: this.#digest(accountId, password), until: now + this.#ttlMs, credentialsChangedAt });
  }

  forget(accountId: number): void {
    this.#entries.delete(accountId);
  }
}
