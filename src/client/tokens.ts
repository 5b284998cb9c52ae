import type * as oidc from 'openid-client';
import type { Clock } from '../core/clock.ts';
import { systemClock } from '../core/clock.ts';
import { localProblem, signInNeeded } from './errors.ts';
import type { HttpOptions } from './oauth/issuer.ts';
import {
  type AccessToken,
  type AccountFile,
  type AccountSecret,
  resourceFor,
  type SecretBody,
  type ServiceName,
  servicesOf,
} from './store/account.ts';
import type { TokenStore } from './store/token-store.ts';

/**
 * Access tokens on demand: a cached token while it is
 * comfortably valid, else one refresh (RFC 6749 §6) under the account lock, the rotated refresh
 * token stored atomically before the new access token is handed out. Tokens are kept per RFC 8707
 * resource, because an issuer may bind each token to one audience (imap://…, smtp://…).
 */
export interface TokenRequest {
  readonly address: string;
  /** The service the token is for; its resource indicator selects the audience. */
  readonly service?: ServiceName;
  /** Refresh when fewer than this many seconds are left (default: min(5 min, half the lifetime)). */
  readonly minValiditySeconds?: number;
  /** Refresh even if the cached token is still valid (`--keepalive`). */
  readonly force?: boolean;
}

export interface IssuedToken {
  readonly account: AccountFile;
  readonly token: AccessToken;
  /** The resource the token was asked for, if any. */
  readonly resource: string | undefined;
  /** True when this call refreshed (for diagnostics and the keepalive report). */
  readonly refreshed: boolean;
  readonly refreshExpiresAt: number | undefined;
}

export interface TokenServiceOptions {
  readonly store: TokenStore;
  readonly clock?: Clock;
  readonly http?: HttpOptions;
}

/** Lifetime assumed for a token whose response had no `expires_in` (RFC 6749 §5.1 makes it optional). */
const UNKNOWN_LIFETIME_MS = 5 * 60_000;

/** The cache key of a request: the service's resource, else the account's first resource, else `*`. */
export function tokenKey(account: AccountFile, service: ServiceName | undefined): string {
  const r = service ? resourceFor(account, service) : account.resources[0];
  return r ?? '*';
}

function isFresh(t: AccessToken | undefined, now: number, minValiditySeconds: number | undefined): t is AccessToken {
  if (!t) return false;
  const left = t.expiresAt - now;
  const margin =
    minValiditySeconds !== undefined
      ? minValiditySeconds * 1000
      : Math.min(5 * 60_000, Math.max(0, (t.expiresAt - (t.obtainedAt ?? now)) / 2));
  return left > margin;
}

/** Returns a valid access token for the request, refreshing at most once across all processes. */
export async function accessToken(req: TokenRequest, options: TokenServiceOptions): Promise<IssuedToken> {
  const clock = options.clock ?? systemClock;
  const { store } = options;
  const account = await store.load(req.address);
  if (req.service && !servicesOf(account, req.service).length)
    // A token without the service's audience would only be refused by it: say so instead.
    throw localProblem(
      `${req.address} has no ${req.service} service: the sign-in did not learn one, so no token can be issued for it`,
      `check what discovery finds (fingerpost discover ${req.address}), then sign in again: fingerpost login ${req.address}`,
    );
  const key = tokenKey(account, req.service);
  const issued = (a: AccountFile, s: SecretBody, refreshed: boolean): IssuedToken => ({
    account: a,
    token: s.tokens[key]!,
    resource: key === '*' ? undefined : key,
    refreshed,
    refreshExpiresAt: s.refreshExpiresAt,
  });
  if (!req.force) {
    const secret = await store.openSecret(account);
    if (isFresh(secret.tokens[key], clock.now(), req.minValiditySeconds)) return issued(account, secret, false);
  }
  return store.locked(req.address, async () => {
    // Another process may have refreshed while this one waited for the lock: read again.
    const current = await store.load(req.address);
    const secret = await store.openSecret(current);
    if (!req.force && isFresh(secret.tokens[key], clock.now(), req.minValiditySeconds)) return issued(current, secret, false);
    const { accountHttp } = await import('./network.ts');
    const next = await refresh(current, secret, key, clock, { ...accountHttp(current), ...options.http });
    await store.save(current, next);
    return issued(current, next, true);
  });
}

/** One refresh-token grant (RFC 6749 §6) with the resource indicator (RFC 8707 §2.2). */
async function refresh(account: AccountFile, secret: AccountSecret, key: string, clock: Clock, http?: HttpOptions): Promise<SecretBody> {
  if (!secret.refreshToken) throw signInNeeded(account.address, 'the issuer gave no refresh token (offline_access was not granted)');
  // Loaded only here: a cached token (most calls of `fingerpost token`) needs no OAuth library.
  const [oidc, { translateOAuthError }, { clientConfiguration }] = await Promise.all([
    import('openid-client'),
    import('./oauth/errors.ts'),
    import('./oauth/issuer.ts'),
  ]);
  const config = clientConfiguration(account.metadata, account.clientId, account.clientAuth, secret.clientSecret, http);
  const params = new URLSearchParams();
  if (key !== '*') params.append('resource', key);
  let response: Awaited<ReturnType<typeof oidc.refreshTokenGrant>>;
  try {
    response = await oidc.refreshTokenGrant(config, secret.refreshToken, params);
  } catch (err) {
    throw translateOAuthError(err, account.address, 'refreshing the access token');
  }
  return mergeTokenResponse(secret, response, key, clock.now());
}

/** The secret after a token response: the new access token under `key`, the rotated refresh token. */
export function mergeTokenResponse(secret: SecretBody, response: oidc.TokenEndpointResponse, key: string, now: number): SecretBody {
  const expiresIn = typeof response.expires_in === 'number' && response.expires_in > 0 ? response.expires_in * 1000 : UNKNOWN_LIFETIME_MS;
  const rotated = typeof response.refresh_token === 'string' && response.refresh_token !== secret.refreshToken;
  const refreshIn = (response as { refresh_expires_in?: unknown }).refresh_expires_in;
  const token: AccessToken = {
    token: response.access_token,
    expiresAt: now + expiresIn,
    obtainedAt: now,
    ...(typeof response.scope === 'string' ? { scope: response.scope } : {}),
  };
  return {
    ...secret,
    ...(response.refresh_token ? { refreshToken: response.refresh_token } : {}),
    ...(rotated || secret.refreshIssuedAt === undefined ? { refreshIssuedAt: now } : {}),
    ...(typeof refreshIn === 'number' && refreshIn > 0 ? { refreshExpiresAt: now + refreshIn * 1000 } : {}),
    tokens: { ...secret.tokens, [key]: token },
  };
}
