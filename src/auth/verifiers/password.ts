import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

// OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane. @node-rs/argon2 defaults to argon2id.
const PARAMS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Hashes a password with argon2id (RFC 9106) into a PHC string. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMS);
}

// Verifying against this when the account does not exist makes an unknown user cost the same
// time as a wrong password.
let dummyHash: Promise<string> | undefined;

/**
 * Checks a password against a PHC hash in constant time (argon2 compares digests in constant
 * time). A null hash (unknown user, no password set) still spends one argon2 verification.
 */
export async function verifyPassword(phc: string | null, password: string): Promise<boolean> {
  if (phc === null || !phc.startsWith('$argon2')) {
    dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  try {
    return await verify(phc, password);
  } catch {
    return false;
  }
}

/**
 * Remembers recently verified (account, password) pairs as keyed digests, so a client that opens
 * many connections does not pay argon2 each time. Only digests under a per-process random key are
 * kept; entries expire and are dropped when the account's credentials change.
 */
export class VerifiedPasswordCache {
  readonly #key = randomBytes(32);
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
