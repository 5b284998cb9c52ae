import * as oidc from 'openid-client';
import { localProblem } from '../errors.ts';
import { type ConnectTo, connectToFetch } from './connect-to.ts';
import type { IssuerMetadata } from '../store/account.ts';
import { translateOAuthError } from './errors.ts';

/**
 * Issuer metadata for a client that may not have a client id yet: RFC 8414 first
 * (`/.well-known/oauth-authorization-server` inserted before the issuer's path), then OpenID
 * Connect Discovery (`/.well-known/openid-configuration` appended), through openid-client, which
 * refuses redirects and any document whose `issuer` is not exactly the one asked for (RFC 8414 §3.3).
 */

/** openid-client wants a client id to build a Configuration; this one is used only to read metadata. */
const METADATA_ONLY = 'fingerpost-metadata-only';

/** Options for the HTTP requests (tests shorten the timeout). */
export interface HttpOptions {
  readonly timeoutSeconds?: number;
  /** `--connect-to` overrides, honoured by every request (src/client/oauth/connect-to.ts). */
  readonly connectTo?: ConnectTo;
}

/** The openid-client request options for `options`: timeout and the `--connect-to` fetch. */
export function requestOptions(options: HttpOptions): { timeout: number; [oidc.customFetch]?: oidc.CustomFetch } {
  const f = connectToFetch(options.connectTo);
  return { timeout: options.timeoutSeconds ?? 30, ...(f ? { [oidc.customFetch]: f } : {}) };
}

/** Issuer metadata and the location that served it (`oauth2`: RFC 8414, `oidc`: OpenID Connect Discovery). */
export interface FetchedMetadata {
  readonly metadata: oidc.ServerMetadata;
  readonly algorithm: 'oauth2' | 'oidc';
}

/** Fetches and checks the metadata of `issuer` (https, no query or fragment). */
export async function fetchIssuerMetadata(issuer: string, address: string, options: HttpOptions = {}): Promise<FetchedMetadata> {
  const url = checkIssuer(issuer);
  let first: unknown;
  for (const algorithm of ['oauth2', 'oidc'] as const) {
    try {
      const c = await oidc.discovery(url, METADATA_ONLY, undefined, oidc.None(), { algorithm, ...requestOptions(options) });
      return { metadata: c.serverMetadata(), algorithm };
    } catch (err) {
      first ??= err;
      // An issuer mismatch is an answer, not an absence: do not try the other location.
      if (err instanceof oidc.ClientError && err.code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED') break;
    }
  }
  if (first instanceof oidc.ClientError && first.code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED')
    throw localProblem(
      `reading the metadata of ${issuer}: the document names another issuer (RFC 8414 §3.3 wants the very same); refused`,
      'check the issuer URL; a mismatch means a misconfigured or impostor server',
    );
  throw translateOAuthError(first, address, `reading the metadata of ${issuer}`);
}

/** Rejects issuer identifiers that RFC 8414 §2 forbids (non-https, query, fragment, userinfo). */
export function checkIssuer(issuer: string): URL {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw localProblem(`"${issuer.slice(0, 100)}" is not an issuer URL`);
  }
  if (url.protocol !== 'https:' || url.search || url.hash || url.username || url.password || issuer.includes('#'))
    throw localProblem(
      `${issuer.slice(0, 100)} is not a valid issuer: it must be https without query, fragment or user info (RFC 8414 §2)`,
    );
  return url;
}

/** The metadata fields cached in the account file. */
export function cacheableMetadata(m: oidc.ServerMetadata): IssuerMetadata {
  if (!m.token_endpoint) throw localProblem(`the issuer ${m.issuer} publishes no token endpoint`);
  const pick = <K extends keyof IssuerMetadata>(k: K) => (m[k as string] !== undefined ? { [k]: m[k as string] } : {});
  return {
    issuer: m.issuer,
    token_endpoint: m.token_endpoint,
    ...pick('authorization_endpoint'),
    ...pick('device_authorization_endpoint'),
    ...pick('revocation_endpoint'),
    ...pick('registration_endpoint'),
    ...pick('authorization_response_iss_parameter_supported'),
    ...pick('code_challenge_methods_supported'),
    ...pick('token_endpoint_auth_methods_supported'),
  } as IssuerMetadata;
}

/** The openid-client Configuration for a client id at an issuer (public client unless a secret is given). */
export function clientConfiguration(
  metadata: IssuerMetadata | oidc.ServerMetadata,
  clientId: string,
  clientAuth: 'none' | 'client_secret_post' | 'client_secret_basic',
  clientSecret?: string,
  options: HttpOptions = {},
): oidc.Configuration {
  const auth =
    clientAuth === 'none' || !clientSecret
      ? oidc.None()
      : clientAuth === 'client_secret_basic'
        ? oidc.ClientSecretBasic(clientSecret)
        : oidc.ClientSecretPost(clientSecret);
  const c = new oidc.Configuration(
    metadata as oidc.ServerMetadata,
    clientId,
    clientSecret ? { client_secret: clientSecret } : undefined,
    auth,
  );
  const { timeout, [oidc.customFetch]: f } = requestOptions(options);
  c.timeout = timeout;
  if (f) c[oidc.customFetch] = f;
  return c;
}
