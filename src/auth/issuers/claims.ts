import type { IssuerOptions } from './registry.ts';

/**
 * The account address a token names (issue 3 step 3): the configured claim (`email`,
 * `preferred_username`, `sub`, …) when it is an address, or a bare name completed with
 * `claim_domain`. An `email` whose `email_verified` is false (or "false") names nobody. Domains
 * outside the issuer's `domains` list are refused.
 */
export function accountAddress(
  claims: Readonly<Record<string, unknown>>,
  options: Pick<IssuerOptions, 'claim' | 'claim_domain' | 'domains'>,
): string | undefined {
  const raw = claims[options.claim];
  if (typeof raw !== 'string' || !raw || raw.length > 320) return undefined;
  // Some issuers (Amazon Cognito) send the boolean as a string: "false" is a denial too.
  if (options.claim === 'email' && (claims.email_verified === false || claims.email_verified === 'false')) return undefined;
  let address: string;
  if (raw.includes('@')) address = raw.toLowerCase();
  else if (options.claim_domain) address = `${raw}@${options.claim_domain}`.toLowerCase();
  else return undefined;
  const domain = address.slice(address.lastIndexOf('@') + 1);
  if (options.domains.length && !options.domains.some((d) => d.toLowerCase() === domain)) return undefined;
  return address;
}

/** The scopes a token grants: `scope` (RFC 9068 §2.2.3, space-separated) or `scp` (Entra ID, list or string). */
export function tokenScopes(claims: Readonly<Record<string, unknown>>): string[] {
  const out: string[] = [];
  for (const value of [claims.scope, claims.scp]) {
    if (typeof value === 'string') out.push(...value.split(' ').filter(Boolean));
    else if (Array.isArray(value)) out.push(...value.filter((v): v is string => typeof v === 'string'));
  }
  return [...new Set(out)];
}

/** The `aud` values of a token, as a list. */
export function tokenAudiences(claims: Readonly<Record<string, unknown>>): string[] {
  const aud = claims.aud;
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud)) return aud.filter((v): v is string => typeof v === 'string');
  return [];
}
