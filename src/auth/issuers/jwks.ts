import { createLocalJWKSet, errors, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';

type KeyResolver = ReturnType<typeof createLocalJWKSet>;
type ResolvedKey = Awaited<ReturnType<KeyResolver>>;

export interface JwksCacheOptions {
  /** Where the key set comes from: an HTTPS fetch, a file, or an in-process function. */
  readonly load: () => Promise<JSONWebKeySet>;
  /** Refetch at most this often when a token names an unknown `kid` (RFC 9068 §4 step 5). */
  readonly cooldownMs: number;
  /** Refresh a key set older than this on next use, so rotation needs no restart. */
  readonly maxAgeMs: number;
  readonly now?: () => number;
  /** Told when a refresh fails (the old keys stay in use). */
  readonly onError?: (err: unknown) => void;
  /** Told after every load attempt. */
  readonly onLoad?: (ok: boolean) => void;
}

function isJwks(value: unknown): value is JSONWebKeySet {
  return !!value && typeof value === 'object' && Array.isArray((value as { keys?: unknown }).keys);
}

/**
 * An issuer's signing keys as jose key resolvers: loaded lazily, refreshed after `maxAgeMs`, and
 * re-loaded (rate-limited by `cooldownMs`) when a token names a key the set does not hold, so a
 * rotated key is picked up without a restart. Key selection (kid, alg, kty) is jose's.
 */
export class JwksCache {
  readonly #options: JwksCacheOptions;
  readonly #now: () => number;
  #resolver: KeyResolver | undefined;
  #loadedAt = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #loading: Promise<void> | undefined;
  #lastError: unknown;

  constructor(options: JwksCacheOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** A jose `JWTVerifyGetKey`: the key for this header, refreshing the set when needed. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<ResolvedKey> => {
    const now = this.#now();
    const stale = now - this.#loadedAt > this.#options.maxAgeMs && now - this.#attemptedAt >= this.#options.cooldownMs;
    if (!this.#resolver && this.#lastError !== undefined && now - this.#attemptedAt < this.#options.cooldownMs) throw this.#lastError;
    if (!this.#resolver || stale) await this.#refresh();
    if (!this.#resolver) throw new errors.JWKSNoMatchingKey();
    try {
      return await this.#resolver(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      if (this.#now() - this.#attemptedAt < this.#options.cooldownMs) throw err;
      await this.#refresh();
      return this.#resolver!(header, token);
    }
  };

  /** Drops the loaded keys so the next token loads them again. */
  invalidate(): void {
    this.#loadedAt = Number.NEGATIVE_INFINITY;
  }

  async #refresh(): Promise<void> {
    this.#loading ??= (async () => {
      this.#attemptedAt = this.#now();
      try {
        const set = await this.#options.load();
        if (!isJwks(set)) throw new Error('the JWKS has no "keys" array');
        this.#resolver = createLocalJWKSet(set);
        this.#loadedAt = this.#now();
        this.#lastError = undefined;
        this.#options.onLoad?.(true);
      } catch (err) {
        this.#lastError = err;
        this.#options.onLoad?.(false);
        this.#options.onError?.(err);
        // Without any keys the caller must learn the issuer is unreachable; with old keys, carry on.
        if (!this.#resolver) throw err;
      } finally {
        this.#loading = undefined;
      }
    })();
    return this.#loading;
  }
}
