import { type JsonRequest, fetchJson, IssuerFetchError } from './fetch.ts';

/** The parts of an issuer's metadata the auth core uses (RFC 8414 §2, OIDC Discovery §3). */
export interface IssuerMetadata {
  readonly issuer: string;
  readonly jwksUri?: string;
  readonly introspectionEndpoint?: string;
  readonly userinfoEndpoint?: string;
  /** The document's URL, named in OAUTHBEARER failure challenges (RFC 7628 §3.2.2). */
  readonly documentUrl: string;
}

/** `ISSUER/.well-known/openid-configuration` (OIDC Discovery §4: appended to the issuer). */
export function openidConfigurationUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/** `ORIGIN/.well-known/oauth-authorization-server/PATH` (RFC 8414 §3: inserted before the path). */
export function oauthMetadataUrl(issuer: string): string {
  const u = new URL(issuer);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/+$/, '');
  return `${u.origin}/.well-known/oauth-authorization-server${path}`;
}

const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

/**
 * Discovers an issuer's metadata: the OpenID configuration, else the RFC 8414 document. The
 * `issuer` member must equal the configured issuer exactly (RFC 8414 §3.3, STANDARDS §9.7),
 * otherwise the document is ignored.
 */
export async function discoverIssuer(issuer: string, request: Pick<JsonRequest, 'ca' | 'timeoutMs'> = {}): Promise<IssuerMetadata> {
  const problems: string[] = [];
  for (const url of [openidConfigurationUrl(issuer), oauthMetadataUrl(issuer)]) {
    try {
      const res = await fetchJson(url, request);
      if (res.status !== 200) {
        problems.push(`${url}: HTTP ${res.status}`);
        continue;
      }
      if (res.body.issuer !== issuer) {
        problems.push(`${url}: names issuer ${JSON.stringify(res.body.issuer)}, not ${issuer}`);
        continue;
      }
      return {
        issuer,
        jwksUri: str(res.body.jwks_uri),
        introspectionEndpoint: str(res.body.introspection_endpoint),
        userinfoEndpoint: str(res.body.userinfo_endpoint),
        documentUrl: url,
      };
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  throw new IssuerFetchError(`cannot discover issuer ${issuer}: ${problems.join('; ')}`);
}
