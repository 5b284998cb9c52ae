import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { IssuedTokens, RevokedSet } from './issued-tokens.ts';
import { type KeySet, publicJwks, SIGNING_ALG } from './keys.ts';

export interface JwtEndpointDeps {
  readonly issuer: string;
  readonly keys: KeySet;
  readonly tokens: IssuedTokens;
  /** A token was revoked: end the sessions that use it. */
  readonly onRevoked: (revoked: RevokedSet) => void;
}

/**
 * oidc-provider answers `unsupported_token_type` for structured (JWT) access tokens at its
 * introspection and revocation endpoints. Our access tokens are JWTs, so this middleware takes
 * over exactly that answer: once oidc-provider has authenticated the calling client, a JWT we
 * signed is revoked (RFC 7009 §2.2: 200) or introspected (RFC 7662 §2.2) using the issued-token
 * ledger. A public client may only revoke or introspect its own tokens.
 */
export function jwtTokenEndpoints(deps: JwtEndpointDeps) {
  const jwks = createLocalJWKSet(publicJwks(deps.keys));

  const verify = async (token: string): Promise<JWTPayload | undefined> => {
    try {
      const { payload } = await jwtVerify(token, jwks, { issuer: deps.issuer, typ: 'at+jwt', algorithms: [SIGNING_ALG] });
      return payload;
    } catch {
      return undefined;
    }
  };

  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    await next();
    const route = ctx.oidc?.route;
    if (route !== 'revocation' && route !== 'introspection') return;
    const body = ctx.body as { error?: string } | undefined;
    if (ctx.status !== 400 || body?.error !== 'unsupported_token_type') return;
    const client = ctx.oidc.entities.Client;
    const token = ctx.oidc.params?.token;
    if (!client || typeof token !== 'string') return;

    const claims = await verify(token);
    const own = claims !== undefined && claims.client_id === client.clientId;
    const allowed = claims !== undefined && (own || client.clientAuthMethod !== 'none');
    const record = claims?.jti ? await deps.tokens.find(claims.jti) : undefined;

    ctx.status = 200;
    ctx.set('cache-control', 'no-store');
    if (route === 'revocation') {
      // RFC 7009 §2.2: 200 whether or not the token was valid; only its own client may revoke it.
      ctx.body = '';
      if (own && record && record.revokedAt === null) deps.onRevoked(await deps.tokens.revokeToken(record.jti));
      return;
    }
    // RFC 7662 §2.2: anything the caller may not see, or that is not valid, is just inactive.
    if (!allowed || !record || record.revokedAt !== null || !claims) {
      ctx.body = { active: false };
      return;
    }
    ctx.body = {
      active: true,
      token_type: 'Bearer',
      iss: claims.iss,
      sub: claims.sub,
      aud: claims.aud,
      client_id: claims.client_id,
      scope: claims.scope,
      username: claims.email,
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
    };
  };
}
