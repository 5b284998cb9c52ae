import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IssuerOptions } from '../issuers/registry.ts';
import { fetchJson, IssuerFetchError } from '../issuers/fetch.ts';

/** An introspection answer (RFC 7662 §2.2): inactive, or active with its claims. */
export type Introspection = { readonly active: false } | { readonly active: true; readonly claims: Readonly<Record<string, unknown>> };

/** RFC 6749 §2.3.1: client id and secret are form-encoded before Basic encoding. */
function basicAuth(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/**
 * Asks issuers' RFC 7662 introspection endpoints whether tokens are active, caching answers for
 * the issuer's `introspection_cache` but never past the token's `exp` (RFC 7662 §4). Cache keys
 * are SHA-256 digests; tokens themselves are never stored.
 */
export class IntrospectionClient {
  readonly #cache = new Map<string, { until: number; answer: Introspection }>();
  readonly #now: () => number;
  readonly #max: number;

  constructor(now: () => number = Date.now, max = 10_000) {
    this.#now = now;
    this.#max = max;
  }

  async introspect(
    token: string,
    issuer: Pick<IssuerOptions, 'issuer' | 'introspection_endpoint' | 'client_id' | 'client_secret' | 'introspection_cache' | 'ca_file'>,
  ): Promise<Introspection> {
    const key = createHash('sha256').update(issuer.issuer).update('\0').update(token).digest('base64url');
    const now = this.#now();
    const hit = this.#cache.get(key);
    if (hit && hit.until > now) return hit.answer;
    const ca = issuer.ca_file ? await readFile(issuer.ca_file, 'utf8') : undefined;
    const res = await fetchJson(issuer.introspection_endpoint, {
      method: 'POST',
      form: { token, token_type_hint: 'access_token' },
      headers: { authorization: basicAuth(issuer.client_id, issuer.client_secret) },
      ...(ca ? { ca } : {}),
    });
    if (res.status !== 200) throw new IssuerFetchError(`introspection at ${issuer.issuer} answered HTTP ${res.status}`, res.status);
    const active = res.body.active === true;
    const answer: Introspection = active ? { active, claims: res.body } : { active: false };
    const exp = active && typeof res.body.exp === 'number' ? res.body.exp * 1000 : Number.POSITIVE_INFINITY;
    if (this.#cache.size >= this.#max) this.#prune(now);
    this.#cache.set(key, { until: Math.min(now + issuer.introspection_cache, exp), answer });
    return answer;
  }

  /** Forgets every cached answer (a revocation was announced). */
  clear(): void {
    this.#cache.clear();
  }

  #prune(now: number): void {
    for (const [k, v] of this.#cache) if (v.until <= now) this.#cache.delete(k);
    if (this.#cache.size >= this.#max) this.#cache.clear();
  }
}
