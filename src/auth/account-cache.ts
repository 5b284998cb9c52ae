import type { DirectoryAccount } from '../directory/directory.ts';

/** The one directory read the token path needs. */
export interface AccountLookup {
  findByAddress(address: string): Promise<DirectoryAccount | undefined>;
}

/**
 * Accounts found by address for token sign-ins, kept for `ttlMs` (at most `auth.events_poll`, so
 * a change made anywhere is seen no later than the events poll that ends live sessions for it)
 * and forgotten at once when this node learns an account's credentials changed or it was
 * disabled or removed. Misses are never kept: a new account can sign in at once.
 */
export class AccountCache implements AccountLookup {
  readonly #directory: AccountLookup;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #max: number;
  readonly #byAddress = new Map<string, { account: DirectoryAccount; at: number }>();

  constructor(directory: AccountLookup, ttlMs: number, now: () => number, max = 10_000) {
    this.#directory = directory;
    this.#ttlMs = ttlMs;
    this.#now = now;
    this.#max = max;
  }

  async findByAddress(address: string): Promise<DirectoryAccount | undefined> {
    const key = address.toLowerCase();
    const now = this.#now();
    const hit = this.#byAddress.get(key);
    if (hit && now - hit.at < this.#ttlMs && now >= hit.at) return hit.account;
    const account = await this.#directory.findByAddress(key);
    if (!account) {
      this.#byAddress.delete(key);
      return undefined;
    }
    this.#byAddress.delete(key);
    while (this.#byAddress.size >= this.#max) this.#byAddress.delete(this.#byAddress.keys().next().value!);
    this.#byAddress.set(key, { account, at: now });
    return account;
  }

  /** Forgets every address of one account (its aliases too). */
  forget(accountId: number): void {
    for (const [key, { account }] of this.#byAddress) if (account.id === accountId) this.#byAddress.delete(key);
  }

  clear(): void {
    this.#byAddress.clear();
  }
}
