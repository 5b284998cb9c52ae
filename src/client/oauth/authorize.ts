import * as oidc from 'openid-client';
import { localProblem } from '../errors.ts';
import { translateOAuthError } from './errors.ts';
import { type FlowContext, scopeAndResources, type TokenResponse, tokenParams } from './flow.ts';
import { sameSecret } from '../../core/constant-time.ts';

/**
 * The authorization code grant for native apps (RFC 6749 §4.1, RFC 8252): always PKCE S256
 * (RFC 7636 §4.2), a fresh `state`, the issuer check (RFC 9207 §2.4) before the code is redeemed,
 * resource indicators (RFC 8707) and `prompt=consent` with `offline_access` (OIDC Core §11).
 */
export interface PendingAuthorization {
  readonly url: URL;
  readonly redirectUri: string;
  readonly state: string;
  readonly verifier: string;
}

/** Builds the authorization URL for `redirectUri` with new PKCE and state values. */
export async function startAuthorization(ctx: FlowContext, redirectUri: string): Promise<PendingAuthorization> {
  const methods = ctx.config.serverMetadata().code_challenge_methods_supported;
  if (methods && !methods.includes('S256'))
    throw localProblem('the issuer does not support PKCE with S256 (RFC 7636); refusing to sign in without it');
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const params = scopeAndResources(ctx);
  params.set('redirect_uri', redirectUri);
  params.set('response_type', 'code');
  params.set('code_challenge', await oidc.calculatePKCECodeChallenge(verifier));
  params.set('code_challenge_method', 'S256');
  params.set('state', state);
  params.set('login_hint', ctx.address);
  if (ctx.scopes.includes('offline_access')) params.set('prompt', 'consent');
  for (const [k, v] of Object.entries(ctx.authParams)) params.set(k, v);
  return { url: oidc.buildAuthorizationUrl(ctx.config, params), redirectUri, state, verifier };
}

/**
 * Checks the redirect the browser ended on and redeems the code. Refuses, before any token
 * request: another redirect URI, a missing or wrong `state`, an `iss` that is missing when the
 * issuer promised it or that names another issuer, and an error response.
 */
export async function finishAuthorization(ctx: FlowContext, pending: PendingAuthorization, callback: URL): Promise<TokenResponse> {
  const expected = new URL(pending.redirectUri);
  if (callback.origin !== expected.origin || callback.pathname !== expected.pathname)
    throw localProblem(`the address is not the redirect of this sign-in (expected it to start with ${pending.redirectUri})`);
  const q = callback.searchParams;
  const state = q.get('state');
  if (state === null || !sameSecret(state, pending.state))
    throw localProblem(
      'the redirect carries the wrong state: refused (it is not the answer to this sign-in)',
      'start again: fingerpost login',
    );
  const meta = ctx.config.serverMetadata();
  const iss = q.get('iss');
  if (iss === null && meta.authorization_response_iss_parameter_supported)
    throw localProblem('the redirect has no iss parameter although the issuer promises one (RFC 9207): refused');
  if (iss !== null && iss !== meta.issuer)
    throw localProblem(
      `the redirect comes from another issuer (${iss.slice(0, 100)}, expected ${meta.issuer}): refused (RFC 9207 mix-up defence)`,
    );
  const error = q.get('error');
  if (error) {
    const desc = q.get('error_description');
    throw localProblem(`the issuer refused the sign-in: ${error.slice(0, 60)}${desc ? ` (${desc.slice(0, 200)})` : ''}`);
  }
  if (!q.get('code')) throw localProblem('the redirect carries no authorization code');
  try {
    return await oidc.authorizationCodeGrant(
      ctx.config,
      callback,
      { pkceCodeVerifier: pending.verifier, expectedState: pending.state },
      tokenParams(ctx),
    );
  } catch (err) {
    throw translateOAuthError(err, ctx.address, 'redeeming the authorization code');
  }
}
