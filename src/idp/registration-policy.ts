import { errors } from 'oidc-provider';

/** Client metadata oidc-provider does not know but mail clients send (RFC 7591 §2). */
export const EXTRA_CLIENT_METADATA = ['software_id', 'software_version'] as const;

const ALLOWED_GRANTS = new Set(['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code']);

/**
 * Metadata a self-registered client may not set: each makes the server fetch a URL the client
 * chose (SSRF) or is only for confidential clients an administrator adds.
 */
const FORBIDDEN = ['jwks_uri', 'jwks', 'sector_identifier_uri', 'request_uris', 'backchannel_logout_uri', 'client_secret'];

type Metadata = Record<string, unknown>;

// The loopback hosts oidc-provider accepts for native http redirects (RFC 8252 §7.3).
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
// A private-use scheme named after a reverse domain (RFC 8252 §7.1): `com.example.mail`.
const REVERSE_DOMAIN_SCHEME = /^[a-z][a-z0-9+-]*(?:\.[a-z0-9+-]+)+:$/;
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'vbscript:', 'data:', 'blob:', 'file:', 'about:']);

/**
 * Why `uri` may not be a redirect of a self-registered client, or undefined when it may: a
 * loopback `http` URI (RFC 8252 §7.3) or a private-use scheme named after a reverse domain (§7.1).
 * A claimed `https` URI (§7.2) is refused because nobody checked that the registrant owns the
 * host; an unchecked URI would make the provider an open redirector (RFC 9700 §4.11.2).
 */
export function selfRegisteredRedirectProblem(uri: unknown): string | undefined {
  if (typeof uri !== 'string') return 'must be a string';
  const url = URL.parse(uri);
  if (!url) return 'must be a URI';
  if (url.protocol === 'http:') return LOOPBACK_HOSTS.has(url.hostname) ? undefined : 'may use http only with a loopback address';
  if (url.protocol === 'https:')
    return 'may not be an https URI: the administrator adds clients whose redirects are web sites (fingerpost admin client add)';
  if (FORBIDDEN_SCHEMES.has(url.protocol) || !REVERSE_DOMAIN_SCHEME.test(url.protocol))
    return 'must use a private-use scheme named after a reverse domain, e.g. com.example.mail:/callback';
  return undefined;
}

/**
 * The open dynamic registration policy (RFC 7591, draft-ietf-mailmaint-oauth-public): native
 * public clients only. Defaults a missing `token_endpoint_auth_method` to `none`, a missing
 * `application_type` to `native` and missing `grant_types` to code + refresh; rejects anything
 * else with `invalid_client_metadata` (RFC 7591 §3.2.2). `sent` is the request body as received. PKCE S256 is then required because the
 * client is public. Applies to registration requests only, never to clients an admin added.
 */
export function applyRegistrationPolicy(metadata: Metadata, sent: Metadata): void {
  // oidc-provider has already filled in its defaults (client_secret_basic, web): judge what was sent.
  const method = sent.token_endpoint_auth_method ?? 'none';
  if (method !== 'none')
    throw new errors.InvalidClientMetadata(
      'only public clients (token_endpoint_auth_method "none") may register themselves; ask the administrator for a confidential client',
    );
  metadata.token_endpoint_auth_method = 'none';

  const type = sent.application_type ?? 'native';
  if (type !== 'native')
    throw new errors.InvalidClientMetadata('only native applications (application_type "native") may register themselves');
  metadata.application_type = 'native';

  for (const key of FORBIDDEN)
    if (sent[key] !== undefined) throw new errors.InvalidClientMetadata(`${key} is not accepted in open registration`);

  if (sent.grant_types === undefined) metadata.grant_types = ['authorization_code', 'refresh_token'];
  const grants = metadata.grant_types;
  if (!Array.isArray(grants) || grants.some((g) => typeof g !== 'string' || !ALLOWED_GRANTS.has(g)))
    throw new errors.InvalidClientMetadata(`grant_types may only contain ${[...ALLOWED_GRANTS].join(', ')}`);
  // Both lists send the browser somewhere without asking: one rule for both.
  for (const uri of asArray(metadata.redirect_uris)) {
    const problem = selfRegisteredRedirectProblem(uri);
    if (problem) throw new errors.InvalidClientMetadata(`redirect_uris ${problem}`); // error: invalid_redirect_uri
  }
  for (const uri of asArray(metadata.post_logout_redirect_uris)) {
    const problem = selfRegisteredRedirectProblem(uri);
    if (problem) throw new errors.InvalidClientMetadata(`post_logout_redirect_uris ${problem}`);
  }

  const types = sent.response_types;
  if (types !== undefined && (!Array.isArray(types) || types.some((t) => t !== 'code')))
    throw new errors.InvalidClientMetadata('response_types may only contain "code"');
}

function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}
