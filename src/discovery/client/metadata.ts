import { type HttpOptions, httpsGet, jsonObject } from './http.ts';

/**
 * Authorization server metadata: RFC 8414 first (`/.well-known/oauth-authorization-server`
 * inserted before the issuer's path), then OpenID Connect Discovery (appended). The document is
 * used only when its `issuer` equals the issuer asked for, code point for code point (RFC 8414 §3.3).
 */

export interface IssuerMetadata {
  readonly issuer: string;
  readonly authorization_endpoint?: string;
  readonly token_endpoint?: string;
  readonly device_authorization_endpoint?: string;
  readonly registration_endpoint?: string;
  readonly revocation_endpoint?: string;
  readonly jwks_uri?: string;
  readonly scopes_supported?: readonly string[];
  readonly code_challenge_methods_supported?: readonly string[];
  readonly grant_types_supported?: readonly string[];
  readonly [member: string]: unknown;
}

/** The two metadata URLs of an issuer, in the order they are tried. */
export function metadataUrls(issuer: string): { rfc8414: string; oidc: string } {
  const u = new URL(issuer);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
  return {
    rfc8414: `${u.origin}/.well-known/oauth-authorization-server${path}`,
    oidc: `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`,
  };
}

export type MetadataOutcome =
  | { readonly ok: true; readonly url: string; readonly metadata: IssuerMetadata }
  | { readonly ok: false; readonly tried: readonly { url: string; reason: string }[] };

/** Fetches and validates the issuer's metadata; never follows a redirect to another document. */
export async function issuerMetadata(issuer: string, options: HttpOptions = {}): Promise<MetadataOutcome> {
  const tried: { url: string; reason: string }[] = [];
  let urls: { rfc8414: string; oidc: string };
  try {
    urls = metadataUrls(issuer);
  } catch {
    return { ok: false, tried: [{ url: issuer, reason: 'the issuer is not a URL' }] };
  }
  if (!issuer.startsWith('https://')) return { ok: false, tried: [{ url: issuer, reason: 'the issuer is not an https URL' }] };
  for (const url of [urls.rfc8414, urls.oidc]) {
    try {
      const res = await httpsGet(url, { ...options, maxRedirects: 0 });
      if (res.status !== 200) {
        tried.push({ url, reason: `HTTP ${res.status}` });
        continue;
      }
      const doc = jsonObject(res.body);
      if (!doc) {
        tried.push({ url, reason: 'not a JSON object' });
        continue;
      }
      if (doc.issuer !== issuer) {
        tried.push({ url, reason: `its issuer ${JSON.stringify(doc.issuer)} is not ${issuer}` });
        continue;
      }
      return { ok: true, url, metadata: doc as IssuerMetadata };
    } catch (err) {
      tried.push({ url, reason: (err as Error).message });
    }
  }
  return { ok: false, tried };
}
