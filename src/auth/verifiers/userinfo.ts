import { readFile } from 'node:fs/promises';
import { fetchJson, IssuerFetchError } from '../issuers/fetch.ts';
import type { TrustedIssuer } from '../issuers/registry.ts';

/**
 * Resolves an opaque token at the issuer's userinfo endpoint (OIDC Core §5.3): a 200 answer's
 * claims, or undefined when the issuer says the token is not valid (401/403). Weaker than a JWT
 * or introspection: the answer names no audience or scope, so only enable it for issuers that
 * mint opaque tokens (issue 3 step 3).
 */
export async function userinfoClaims(token: string, issuer: TrustedIssuer): Promise<Readonly<Record<string, unknown>> | undefined> {
  const meta = await issuer.metadata();
  if (!meta?.userinfoEndpoint) throw new IssuerFetchError(`issuer ${issuer.issuer} publishes no userinfo_endpoint`);
  const ca = issuer.options.ca_file ? await readFile(issuer.options.ca_file, 'utf8') : undefined;
  const res = await fetchJson(meta.userinfoEndpoint, { headers: { authorization: `Bearer ${token}` }, ...(ca ? { ca } : {}) });
  if (res.status === 401 || res.status === 403) return undefined;
  if (res.status !== 200) throw new IssuerFetchError(`userinfo at ${issuer.issuer} answered HTTP ${res.status}`, res.status);
  return res.body;
}
