import { createPublicKey, type JsonWebKey as NodeJwk, type KeyObject } from 'node:crypto';
import {
  createLocalJWKSet,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWK as JSONWebKey,
  type JWSHeaderParameters,
} from 'jose';

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

/** The key type and curves a JWS `alg` needs (RFC 7518 §3.1, RFC 8037 §3.1). */
const ALG_KEYS: Readonly<Record<string, { kty: string; crv?: readonly string[] }>> = {
  RS256: { kty: 'RSA' },
  RS384: { kty: 'RSA' },
  RS512: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
  PS384: { kty: 'RSA' },
  PS512: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: ['P-256'] },
  ES384: { kty: 'EC', crv: ['P-384'] },
  ES512: { kty: 'EC', crv: ['P-521'] },
  EdDSA: { kty: 'OKP', crv: ['Ed25519', 'Ed448'] },
};

/** One usable public key of the set, imported once as a node:crypto KeyObject. */
interface ImportedKey {
  readonly jwk: JSONWebKey;
  readonly key: KeyObject;
}

/**
 * Whether a JWK may verify a JWS with this header (RFC 7517 §4: `kid`, `use`, `key_ops`, `alg`),
 * with the key type and curve the algorithm needs; RSA keys shorter than 2048 bits never do.
 */
function matches(k: ImportedKey, alg: string, kid: string | undefined): boolean {
  const want = ALG_KEYS[alg];
  const { jwk } = k;
  if (!want || jwk.kty !== want.kty) return false;
  if (kid !== undefined && jwk.kid !== kid) return false;
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) return false;
  if (want.crv && !want.crv.includes(jwk.crv ?? '')) return false;
  if (want.kty === 'RSA' && (k.key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return false;
  return true;
}

function importKeys(set: JSONWebKeySet): ImportedKey[] {
  const out: ImportedKey[] = [];
  for (const jwk of set.keys) {
    // Private members are never used for verification; a key that does not import is skipped.
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, ...pub } = jwk as JSONWebKey & { oth?: unknown };
    try {
      out.push({ jwk, key: createPublicKey({ key: pub as NodeJwk, format: 'jwk' }) });
    } catch {
      // not a public key node:crypto can use (symmetric, unknown kty, bad coordinates)
    }
  }
  return out;
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
  #imported: ImportedKey[] = [];
  /** Candidates per `alg` and `kid`, rebuilt after each load. */
  #selected = new Map<string, KeyObject[]>();
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

  /**
   * The keys that may verify a JWS with this `alg` and `kid`, as node:crypto KeyObjects imported
   * once per load; the same refresh rules as `getKey` (stale set, unknown `kid` after the
   * cooldown). Throws jose's `JWKSNoMatchingKey` when none fits, or the load error when the
   * issuer never answered.
   */
  verificationKeys(alg: string, kid: string | undefined): KeyObject[] | Promise<KeyObject[]> {
    const now = this.#now();
    const stale = now - this.#loadedAt > this.#options.maxAgeMs && now - this.#attemptedAt >= this.#options.cooldownMs;
    if (this.#resolver && !stale) {
      const hit = this.#select(alg, kid);
      if (hit.length || now - this.#attemptedAt < this.#options.cooldownMs) return hit.length ? hit : this.#noKey();
    }
    return this.#verificationKeysSlow(alg, kid);
  }

  async #verificationKeysSlow(alg: string, kid: string | undefined): Promise<KeyObject[]> {
    const now = this.#now();
    const stale = now - this.#loadedAt > this.#options.maxAgeMs && now - this.#attemptedAt >= this.#options.cooldownMs;
    if (!this.#resolver && this.#lastError !== undefined && now - this.#attemptedAt < this.#options.cooldownMs) throw this.#lastError;
    if (!this.#resolver || stale) await this.#refresh();
    let hit = this.#select(alg, kid);
    if (!hit.length && this.#now() - this.#attemptedAt >= this.#options.cooldownMs) {
      await this.#refresh();
      hit = this.#select(alg, kid);
    }
    return hit.length ? hit : this.#noKey();
  }

  #select(alg: string, kid: string | undefined): KeyObject[] {
    const id = `${alg}\0${kid ?? ''}\0${kid === undefined ? 0 : 1}`;
    let hit = this.#selected.get(id);
    if (!hit) {
      hit = this.#imported.filter((k) => matches(k, alg, kid)).map((k) => k.key);
      // Bounded: a token can name any kid, and only sets' own kids are worth remembering.
      if (hit.length && this.#selected.size < 256) this.#selected.set(id, hit);
    }
    return hit;
  }

  #noKey(): never {
    throw new errors.JWKSNoMatchingKey();
  }

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
        this.#imported = importKeys(set);
        this.#selected = new Map();
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
