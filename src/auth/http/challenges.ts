import { formatChallenge, sanitizeErrorDescription } from '../sasl/www-authenticate.ts';

/**
 * The RFC 9728 §3.1 metadata URL of a resource: `/.well-known/oauth-protected-resource` inserted
 * between the origin and the path (a lone `/` path is dropped); undefined for a non-HTTP(S) resource.
 */
export function resourceMetadataUrl(resource: string): string | undefined {
  const u = URL.parse(resource);
  if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) return undefined;
  const path = u.pathname === '/' ? '' : u.pathname;
  return `${u.origin}/.well-known/oauth-protected-resource${path}${u.search}`;
}

/** Bearer error data for a challenge (RFC 6750 §3.1). */
export interface BearerError {
  readonly error: 'invalid_token' | 'insufficient_scope' | 'invalid_request';
  readonly description?: string;
}

/**
 * A Bearer challenge (RFC 6750 §3, RFC 9728 §5.1): `realm`, `resource_metadata`, `scope`, and
 * `error` / `error_description` only when a token was sent and failed (RFC 6750 §3.1).
 */
export function bearerChallenge(input: { realm: string; resource: string; scope?: string; error?: BearerError }): string {
  const params: Array<[string, string]> = [['realm', input.realm]];
  const metadata = resourceMetadataUrl(input.resource);
  if (metadata) params.push(['resource_metadata', metadata]);
  if (input.scope) params.push(['scope', input.scope]);
  if (input.error) {
    params.push(['error', input.error.error]);
    const d = input.error.description ? sanitizeErrorDescription(input.error.description) : '';
    if (d) params.push(['error_description', d]);
  }
  return formatChallenge('Bearer', params);
}

/** A Basic challenge (RFC 7617 §2, §2.1: `charset="UTF-8"`). */
export function basicChallenge(realm: string): string {
  return formatChallenge('Basic', [
    ['realm', realm],
    ['charset', 'UTF-8'],
  ]);
}
