import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Db } from '../store/db.ts';

/** The algorithm every embedded-provider token is signed with: RS256, which RFC 9068 §2.1 and OIDC Core §15.1 require. */
export const SIGNING_ALG = 'RS256';

/** One signing key as stored: the private JWK carries `kid`, `alg` and `use`. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateJwk: JWK;
  readonly createdAt: number;
  /** When a newer key took over signing; null for the current key. */
  readonly retiredAt: number | null;
}

/** The keys in use: the one that signs, and every key whose tokens may still be alive. */
export interface KeySet {
  readonly current: SigningKey;
  /** Current first, then retired keys still published, newest first. */
  readonly published: readonly SigningKey[];
  /** Changes whenever the set changes (a rotation, a pruned key); cheap to compare. */
  readonly version: string;
}

/** The public half of a JWK: what goes into the JWKS document (RFC 7517 §5). */
export function publicJwk(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, ...pub } = jwk as JWK & { oth?: unknown };
  return pub;
}

/** The JWKS to publish: public keys of the current and the still-valid previous keys. */
export function publicJwks(set: KeySet): { keys: JWK[] } {
  return { keys: set.published.map((k) => publicJwk(k.privateJwk)) };
}

/**
 * The key set in oidc-provider's `jwks` shape: private keys, current first; retired keys may only
 * verify (`key_ops`), so the provider never signs with them but still publishes them.
 */
export function providerJwks(set: KeySet): { keys: JWK[] } {
  return {
    keys: set.published.map((k) => (k.retiredAt === null ? { ...k.privateJwk } : { ...k.privateJwk, key_ops: ['verify'] })),
  };
}

async function newRsaKey(): Promise<{ kid: string; jwk: JWK }> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return { kid, jwk: { ...jwk, kid, alg: SIGNING_ALG, use: 'sig' } };
}

/**
 * The provider's signing keys in the database (table `idp_keys`), shared by every node and the
 * admin CLI. A rotation retires the current key; retired keys stay published until every token
 * they signed has expired (`retentionMs` after retirement, or the latest `last_token_exp`).
 */
export class IdpKeys {
  readonly #db: Db;
  readonly #retentionMs: number;
  readonly #now: () => number;

  constructor(db: Db, options: { retentionMs: number; now?: () => number }) {
    this.#db = db;
    this.#retentionMs = options.retentionMs;
    this.#now = options.now ?? Date.now;
  }

  /** The current and published keys; creates the first key when there is none. */
  async load(): Promise<KeySet> {
    let set = await this.#read();
    if (!set) {
      await this.#insert();
      set = await this.#read();
    }
    if (!set) throw new Error('no signing key after creating one');
    return set;
  }

  /** Makes a new current key and retires the previous one(s); returns the new key id. */
  async rotate(): Promise<{ kid: string; retired: string[] }> {
    const now = this.#now();
    const { kid } = await newRsaKey().then(async (k) => {
      await this.#db.kysely.transaction().execute(async (trx) => {
        await trx.updateTable('idp_keys').set({ retired_at: now }).where('retired_at', 'is', null).execute();
        await trx
          .insertInto('idp_keys')
          .values({ kid: k.kid, alg: SIGNING_ALG, private_jwk: JSON.stringify(k.jwk), created_at: now + 1, retired_at: null })
          .execute();
      });
      return k;
    });
    const retired = await this.#db.kysely.selectFrom('idp_keys').select('kid').where('retired_at', '=', now).execute();
    return { kid, retired: retired.map((r) => r.kid) };
  }

  /** Records that `kid` signed a token valid until `exp` (ms), so a rotation keeps it published that long. */
  async noteTokenExpiry(kid: string, exp: number): Promise<void> {
    await this.#db.kysely
      .updateTable('idp_keys')
      .set({ last_token_exp: exp })
      .where('kid', '=', kid)
      .where((eb) => eb.or([eb('last_token_exp', 'is', null), eb('last_token_exp', '<', exp)]))
      .execute();
  }

  /** Deletes retired keys no token can need any more; returns their ids. */
  async prune(): Promise<string[]> {
    const now = this.#now();
    const rows = await this.#db.kysely.selectFrom('idp_keys').selectAll().where('retired_at', 'is not', null).execute();
    const gone = rows.filter((r) => !this.#stillNeeded(r.retired_at, r.last_token_exp, now)).map((r) => r.kid);
    if (gone.length) await this.#db.kysely.deleteFrom('idp_keys').where('kid', 'in', gone).execute();
    return gone;
  }

  #stillNeeded(retiredAt: number | null, lastTokenExp: number | null, now: number): boolean {
    if (retiredAt === null) return true;
    return retiredAt + this.#retentionMs > now || (lastTokenExp !== null && lastTokenExp > now);
  }

  async #insert(): Promise<void> {
    const k = await newRsaKey();
    await this.#db.kysely
      .insertInto('idp_keys')
      .values({ kid: k.kid, alg: SIGNING_ALG, private_jwk: JSON.stringify(k.jwk), created_at: this.#now(), retired_at: null })
      .execute();
  }

  async #read(): Promise<KeySet | undefined> {
    const now = this.#now();
    const rows = await this.#db.kysely.selectFrom('idp_keys').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
    const keys: SigningKey[] = rows
      .filter((r) => this.#stillNeeded(r.retired_at, r.last_token_exp, now))
      .map((r) => ({
        kid: r.kid,
        alg: r.alg,
        privateJwk: JSON.parse(r.private_jwk) as JWK,
        createdAt: r.created_at,
        retiredAt: r.retired_at,
      }));
    // Two processes creating the first key at once leave two unretired keys: the newest signs,
    // the other is published like a retired one.
    const current = keys.find((k) => k.retiredAt === null);
    if (!current) return undefined;
    const published = [current, ...keys.filter((k) => k !== current).map((k) => ({ ...k, retiredAt: k.retiredAt ?? current.createdAt }))];
    return { current, published, version: published.map((k) => k.kid).join(',') };
  }
}
