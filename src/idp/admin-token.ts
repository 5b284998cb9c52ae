import { importJWK, SignJWT } from 'jose';
import { FingerpostError } from '../core/errors.ts';
import { randomId } from '../core/ids.ts';
import type { Directory } from '../directory/directory.ts';
import type { IssuedTokens } from './issued-tokens.ts';
import type { IdpKeys } from './keys.ts';

/** The `client_id` claim of tokens minted by `fingerpost admin token issue` (RFC 9068 §2.2 requires one). */
export const ADMIN_CLIENT_ID = 'fingerpost-admin';

/** The longest lifetime `admin token issue` grants. */
export const MAX_ADMIN_TOKEN_TTL_MS = 30 * 86_400_000;

export interface AdminTokenRequest {
  readonly address: string;
  /** RFC 8707 resource identifiers: the token's `aud` (a list when several). */
  readonly resources: readonly string[];
  readonly scopes: readonly string[];
  readonly ttlMs: number;
}

export interface AdminToken {
  readonly token: string;
  readonly jti: string;
  readonly subject: string;
  readonly audience: string | string[];
  readonly expiresAt: number;
}

/** Checks an RFC 8707 §2 resource indicator: an absolute URI without a fragment. */
export function validResource(resource: string): boolean {
  const u = URL.parse(resource);
  return u !== null && u.protocol.length > 1 && !resource.includes('#');
}

/**
 * Signs an RFC 9068 JWT access token for an account with the provider's current key, exactly as
 * the provider's own tokens look (`typ: at+jwt`, `iss`, `sub`, `aud`, `client_id`, `iat`, `exp`,
 * `jti`, `scope`, plus `email`). For scripts, tests and migrations; recorded so it can be revoked.
 */
export async function issueAdminToken(
  deps: { readonly issuer: string; readonly keys: IdpKeys; readonly tokens: IssuedTokens; readonly directory: Directory },
  request: AdminTokenRequest,
  now: number = Date.now(),
): Promise<AdminToken> {
  if (!(request.ttlMs >= 1000 && request.ttlMs <= MAX_ADMIN_TOKEN_TTL_MS))
    throw new FingerpostError(
      'invalid_argument',
      `a token lifetime must be between 1 second and ${MAX_ADMIN_TOKEN_TTL_MS / 86_400_000} days`,
      {
        hint: 'use e.g. --ttl 600 or --ttl 10m',
      },
    );
  if (request.resources.length === 0)
    throw new FingerpostError('invalid_argument', 'a token needs at least one resource (its audience)', {
      hint: 'pass --resource imap://HOSTNAME',
    });
  for (const r of request.resources)
    if (!validResource(r))
      throw new FingerpostError('invalid_argument', `resource ${r} is not an absolute URI without a fragment (RFC 8707 §2)`, {
        hint: 'use e.g. imap://mail.example.com or https://mail.example.com/jmap/session',
      });
  for (const s of request.scopes)
    if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s))
      throw new FingerpostError('invalid_argument', `scope ${JSON.stringify(s)} has characters RFC 6749 §3.3 does not allow`);

  const account = await deps.directory.findByAddress(request.address);
  if (!account)
    throw new FingerpostError('not_found', `no account ${request.address}`, { hint: 'list them with: fingerpost admin user list' });
  if (account.disabled) throw new FingerpostError('invalid_argument', `account ${account.address} is disabled`);

  const set = await deps.keys.load();
  const key = await importJWK(set.current.privateJwk, set.current.alg);
  const jti = randomId();
  const iat = Math.floor(now / 1000);
  const exp = iat + Math.ceil(request.ttlMs / 1000);
  const audience = request.resources.length === 1 ? request.resources[0]! : [...request.resources];
  const token = await new SignJWT({
    client_id: ADMIN_CLIENT_ID,
    email: account.address,
    ...(request.scopes.length ? { scope: request.scopes.join(' ') } : {}),
  })
    .setProtectedHeader({ alg: set.current.alg, typ: 'at+jwt', kid: set.current.kid })
    .setIssuer(deps.issuer)
    .setSubject(account.address)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(key);

  await deps.keys.noteTokenExpiry(set.current.kid, exp * 1000);
  await deps.tokens.record({
    jti,
    grantId: null,
    sid: null,
    account: account.address,
    clientId: ADMIN_CLIENT_ID,
    issuedAt: iat * 1000,
    expiresAt: exp * 1000,
  });
  return { token, jti, subject: account.address, audience, expiresAt: exp * 1000 };
}
