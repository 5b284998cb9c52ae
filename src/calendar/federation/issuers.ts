import { createLocalJWKSet, errors, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import type { WebfingerOutcome } from '../../discovery/client/webfinger.ts';
import { RELS } from '../../discovery/client/rels.ts';
import type { OutboundHttp } from '../outbound.ts';

/**
 * What another domain says about its users' identity: the issuer its WebFinger names for an
 * address (OIDC Discovery 1.0 §2, STANDARDS §1.7), that issuer's metadata (§4: `issuer` must equal
 * the URL it was fetched from) and its JWKS. Everything is fetched through the SSRF guard and cached;
 * a JWKS is fetched again when a token names an unknown key (key rotation), within a budget per
 * issuer so forged `kid`s cannot turn this server into a load generator against it.
 */

/** A reason the asker's identity cannot be established; safe to log. */
export class FederationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FederationError';
  }
}

type LocalKeySet = ReturnType<typeof createLocalJWKSet>;
type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<Awaited<ReturnType<LocalKeySet>>>;

interface Cached<T> {
  readonly value: Promise<T>;
  readonly until: number;
}

/** Lookups and caching policy of `RemoteIssuers`. */
export interface RemoteIssuersDeps {
  /** WebFinger for an address asking for given rels (discovery/client, with the SSRF options). */
  readonly webfinger: (address: string, rels: readonly string[]) => Promise<WebfingerOutcome>;
  readonly outbound: OutboundHttp;
  /** How long answers are reused. */
  readonly cacheMs: number;
  /** Failures are remembered this long (so a dead domain is not hammered). */
  readonly negativeCacheMs?: number;
  /** JWKS refetches for unknown `kid`s allowed per issuer and minute. */
  readonly refetchesPerMinute?: number;
  readonly now?: () => number;
}

const MAX_DOC_BYTES = 256 * 1024;

/** Other domains' issuers, free/busy links and keys, cached. */
export class RemoteIssuers {
  readonly #deps: RemoteIssuersDeps;
  readonly #now: () => number;
  readonly #issuers = new Map<string, Cached<string>>();
  readonly #links = new Map<string, Cached<string>>();
  readonly #jwks = new Map<string, Cached<LocalKeySet>>();
  /** Recent refetch times per issuer, and `issuer kid` pairs a refetch did not find (not tried again for a minute). */
  readonly #refetches = new Map<string, number[]>();
  readonly #missingKids = new Map<string, number>();

  constructor(deps: RemoteIssuersDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  #remember<T>(cache: Map<string, Cached<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const now = this.#now();
    const hit = cache.get(key);
    if (hit && hit.until > now) return hit.value;
    const value = load();
    cache.set(key, { value, until: now + this.#deps.cacheMs });
    value.catch(() => cache.set(key, { value, until: this.#now() + (this.#deps.negativeCacheMs ?? 30_000) }));
    if (cache.size > 10_000) for (const [k, v] of cache) if (v.until <= now) cache.delete(k);
    return value;
  }

  async #link(address: string, rel: string): Promise<string> {
    const wf = await this.#deps.webfinger(address, [rel]);
    if (!wf.ok) throw new FederationError(`WebFinger for ${address} failed: ${wf.reason}`);
    const href = wf.jrd.links.find((l) => l.rel === rel && typeof l.href === 'string' && l.href.startsWith('https://'))?.href;
    if (!href) throw new FederationError(`WebFinger for ${address} names no https ${rel} link`);
    return href;
  }

  /** The issuer the address's own domain names for it (the only issuer whose assertions count for it). */
  issuerOf(address: string): Promise<string> {
    return this.#remember(this.#issuers, address.toLowerCase(), () => this.#link(address, RELS.issuer));
  }

  /** The free/busy URL the address's domain publishes for it. */
  freeBusyUrlOf(address: string): Promise<string> {
    return this.#remember(this.#links, address.toLowerCase(), () => this.#link(address, RELS.freebusy));
  }

  async #json(url: string, what: string): Promise<Record<string, unknown>> {
    const res = await this.#deps.outbound
      .get(url, { maxBytes: MAX_DOC_BYTES, httpsOnly: true, headers: { accept: 'application/json' } })
      .catch((err) => {
        throw new FederationError(`${what} at ${url}: ${(err as Error).message}`);
      });
    if (res.status !== 200) throw new FederationError(`${what} at ${url} answered HTTP ${res.status}`);
    let doc: unknown;
    try {
      doc = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new FederationError(`${what} at ${url} is not JSON`);
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new FederationError(`${what} at ${url} is not a JSON object`);
    return doc as Record<string, unknown>;
  }

  async #fetchJwks(issuer: string): Promise<ReturnType<typeof createLocalJWKSet>> {
    const meta = await this.#json(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, 'issuer metadata');
    // OIDC Discovery §4.3: the issuer in the document is exactly the one it was fetched for.
    if (meta.issuer !== issuer) throw new FederationError(`issuer metadata of ${issuer} names another issuer`);
    const jwksUri = meta.jwks_uri;
    if (typeof jwksUri !== 'string' || !jwksUri.startsWith('https://'))
      throw new FederationError(`issuer ${issuer} publishes no https jwks_uri`);
    const jwks = await this.#json(jwksUri, 'JWKS');
    if (!Array.isArray(jwks.keys)) throw new FederationError(`JWKS of ${issuer} has no keys`);
    try {
      return createLocalJWKSet(jwks as unknown as JSONWebKeySet);
    } catch (err) {
      throw new FederationError(`JWKS of ${issuer} is unusable: ${(err as Error).message}`);
    }
  }

  #keySet(issuer: string): Promise<LocalKeySet> {
    return this.#remember(this.#jwks, issuer, () => this.#fetchJwks(issuer));
  }

  /** Whether an unknown `kid` may trigger a fresh JWKS fetch now (and books it). */
  #mayRefetch(issuer: string, kid: string): boolean {
    const now = this.#now();
    if ((this.#missingKids.get(`${issuer} ${kid}`) ?? 0) > now) return false;
    const recent = (this.#refetches.get(issuer) ?? []).filter((t) => t > now - 60_000);
    if (recent.length >= (this.#deps.refetchesPerMinute ?? 6)) return false;
    recent.push(now);
    this.#refetches.set(issuer, recent);
    if (this.#missingKids.size > 10_000) this.#missingKids.clear();
    return true;
  }

  /** A jose key resolver for `issuer`: cached keys, fetched again once when the token's `kid` is unknown (key rotation). */
  keyResolver(issuer: string): KeyResolver {
    return async (header, token) => {
      const set = await this.#keySet(issuer);
      try {
        return await set(header, token);
      } catch (err) {
        const kid = String(header.kid ?? '');
        if (!(err instanceof errors.JWKSNoMatchingKey) || !this.#mayRefetch(issuer, kid)) throw err;
        // A failed refetch keeps the cached set; a good one replaces it.
        const fresh = await this.#fetchJwks(issuer);
        this.#jwks.set(issuer, { value: Promise.resolve(fresh), until: this.#now() + this.#deps.cacheMs });
        try {
          return await fresh(header, token);
        } catch (again) {
          if (again instanceof errors.JWKSNoMatchingKey) this.#missingKids.set(`${issuer} ${kid}`, this.#now() + 60_000);
          throw again;
        }
      }
    };
  }
}
