import * as oidc from 'openid-client';
import { FingerpostError } from '../../core/errors.ts';
import { localProblem, signInNeeded, temporaryFailure } from '../errors.ts';

/**
 * Turns what openid-client throws into the client's three outcomes: sign-in needed (RFC 6749 §5.2
 * `invalid_grant`, `invalid_client`, `unauthorized_client`; RFC 8628 `access_denied`,
 * `expired_token`), temporary (network, 5xx, 429, `temporarily_unavailable`, `slow_down` at the end),
 * or a local problem with the issuer's own words.
 */
export function translateOAuthError(err: unknown, address: string, doing: string): FingerpostError {
  if (err instanceof FingerpostError) return err;
  if (err instanceof oidc.ResponseBodyError) {
    const what = `${doing}: the issuer answered ${err.error}${err.error_description ? ` (${clip(err.error_description)})` : ''}`;
    if (err.error === 'invalid_grant' || err.error === 'access_denied' || err.error === 'expired_token') return signInNeeded(address, what);
    if (err.error === 'invalid_client' || err.error === 'unauthorized_client')
      return signInNeeded(address, `${what}; the client registration is no longer accepted`);
    if (err.status >= 500 || err.error === 'temporarily_unavailable' || err.error === 'server_error') return temporaryFailure(what, err);
    return localProblem(what, undefined, err);
  }
  if (err instanceof oidc.AuthorizationResponseError) {
    const what = `${doing}: the authorization was refused: ${err.error}${err.error_description ? ` (${clip(err.error_description)})` : ''}`;
    return err.error === 'temporarily_unavailable' || err.error === 'server_error'
      ? temporaryFailure(what, err)
      : localProblem(what, undefined, err);
  }
  if (err instanceof oidc.ClientError) {
    const code = err.code ?? '';
    const status = (err.cause as Response | undefined)?.status ?? 0;
    // An unexpected status, or an error status without a JSON body (a proxy's 429 page): the status decides.
    if (code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || (code === 'OAUTH_RESPONSE_IS_NOT_JSON' && status >= 400)) {
      if (status >= 500 || status === 429) return temporaryFailure(`${doing}: the issuer answered HTTP ${status}`, err);
      return localProblem(`${doing}: the issuer answered HTTP ${status || 'with an unexpected status'}`, undefined, err);
    }
    return localProblem(`${doing}: ${clip(err.message)}${code ? ` [${code}]` : ''}`, undefined, err);
  }
  const cause = (err as { cause?: { code?: string; hostname?: string } }).cause;
  if (err instanceof TypeError && cause?.code === 'ENOTFOUND')
    // NXDOMAIN is an answer: waiting does not make the name exist (EAI_AGAIN stays temporary).
    return localProblem(
      `${doing}: the host name ${cause.hostname ?? ''} does not resolve`.replace('  ', ' '),
      'check the name, or point it at the server with --connect-to HOST=ADDRESS:PORT',
      err,
    );
  if (err instanceof TypeError || isNetworkError(err))
    return temporaryFailure(`${doing}: cannot reach the issuer (${clip(describeNetwork(err))})`, err);
  return localProblem(`${doing}: ${clip((err as Error)?.message ?? String(err))}`, undefined, err);
}

function isNetworkError(err: unknown): boolean {
  const name = (err as Error)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}

function describeNetwork(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
