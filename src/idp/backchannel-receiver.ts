import type { FastifyInstance } from 'fastify';
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { IssuerRegistry } from '../auth/issuers/registry.ts';
import type { Logger } from '../core/log.ts';
import type { Revocation } from './revocation-bus.ts';

/** Where trusted external issuers POST logout tokens: configure this as the back-channel logout URI. */
export const BACKCHANNEL_LOGOUT_PATH = '/auth/backchannel-logout';

const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** A logout token older than this is refused (OIDC Back-Channel Logout 1.0 §2.6 asks to limit `iat`). */
const MAX_AGE_S = 600;
/** How long a logged-out `sid` stays refused: longer than any access token of it can live. */
const SID_MEMORY_MS = 86_400_000;

export type LogoutTokenCheck =
  | { readonly ok: true; readonly issuer: string; readonly sid: string; readonly jti: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Validates a logout token (OIDC Back-Channel Logout 1.0 §2.6) from an issuer in the registry
 * that accepts back-channel logout: signature with the issuer's keys and allowed algorithms, `iss`,
 * `aud` naming our client id there, `iat` recent, `jti`, the back-channel logout `events` member,
 * no `nonce`, a `typ` (when present) of `logout+jwt`, and a `sid` to log out.
 */
export async function checkLogoutToken(
  token: string,
  issuers: IssuerRegistry,
  options: { leewaySec: number; now: () => number },
): Promise<LogoutTokenCheck> {
  let iss: unknown;
  let typ: unknown;
  try {
    iss = decodeJwt(token).iss;
    typ = decodeProtectedHeader(token).typ;
  } catch {
    return { ok: false, reason: 'the logout token is not a JWT' };
  }
  const issuer = typeof iss === 'string' ? issuers.get(iss) : undefined;
  if (!issuer) return { ok: false, reason: 'the logout token comes from an issuer this server does not trust' };
  if (!issuer.options.backchannel_logout) return { ok: false, reason: 'back-channel logout is off for this issuer' };
  if (!issuer.options.client_id)
    return { ok: false, reason: 'no client_id is configured for this issuer, so the audience cannot be checked' };
  if (typ !== undefined && !['logout+jwt', 'application/logout+jwt', 'jwt'].includes(String(typ).toLowerCase()))
    return { ok: false, reason: 'the token is not a logout token (typ)' };
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, issuer.keys.getKey, {
      issuer: issuer.issuer,
      audience: issuer.options.client_id,
      algorithms: [...issuer.options.algorithms],
      clockTolerance: options.leewaySec,
      maxTokenAge: MAX_AGE_S,
      requiredClaims: ['iat', 'jti'],
      currentDate: new Date(options.now()),
    }));
  } catch (err) {
    const why = err instanceof errors.JOSEError ? err.code : 'invalid';
    return { ok: false, reason: `the logout token did not validate (${why})` };
  }
  const events = payload.events as Record<string, unknown> | undefined;
  const member = events && typeof events === 'object' ? events[LOGOUT_EVENT] : undefined;
  if (!member || typeof member !== 'object' || Array.isArray(member))
    return { ok: false, reason: 'the events claim lacks the back-channel logout event' };
  if (payload.nonce !== undefined) return { ok: false, reason: 'a logout token must not carry a nonce' };
  if (typeof payload.sid !== 'string' || !payload.sid)
    return { ok: false, reason: 'logout tokens without sid are not supported (ask the issuer to include the session id)' };
  return { ok: true, issuer: issuer.issuer, sid: payload.sid, jti: String(payload.jti) };
}

/**
 * The RP side of OIDC Back-Channel Logout 1.0 for trusted external issuers (§2.5–§2.8): a
 * validated logout token ends the live sessions of its `sid` on every node and refuses that
 * session's tokens afterwards. Answers 200, or 400 with an error object; replays are refused.
 */
export function registerBackchannelLogout(
  app: FastifyInstance,
  deps: { issuers: IssuerRegistry; leewaySec: number; logger: Logger; publish: (r: Revocation) => Promise<void>; now?: () => number },
): void {
  const now = deps.now ?? Date.now;
  const seen = new Map<string, number>();
  app.register(async (scope) => {
    if (!scope.hasContentTypeParser('application/x-www-form-urlencoded'))
      scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 65_536 }, (_req, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(body as string)));
      });
    scope.post(BACKCHANNEL_LOGOUT_PATH, async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const token = (request.body as Record<string, unknown> | undefined)?.logout_token;
      const fail = (reason: string) => {
        deps.logger.warn({ event: 'backchannel_logout', result: 'refused', reason }, 'back-channel logout refused');
        return reply.code(400).send({ error: 'invalid_request', error_description: reason });
      };
      if (typeof token !== 'string' || !token || token.length > 16_384) return fail('a logout_token form parameter is required');
      const check = await checkLogoutToken(token, deps.issuers, { leewaySec: deps.leewaySec, now });
      if (!check.ok) return fail(check.reason);
      const t = now();
      for (const [k, until] of seen) if (until <= t) seen.delete(k);
      const key = `${check.issuer}\0${check.jti}`;
      if (seen.has(key)) return fail('this logout token was already used');
      seen.set(key, t + (MAX_AGE_S + deps.leewaySec) * 1000);
      await deps.publish({ kind: 'session', issuer: check.issuer, sid: check.sid, until: t + SID_MEMORY_MS, reason: 'backchannel_logout' });
      deps.logger.info({ event: 'backchannel_logout', issuer: check.issuer, result: 'ok' }, 'back-channel logout');
      return reply.code(200).send();
    });
  });
}
