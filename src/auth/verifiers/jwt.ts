import { errors, type JWTPayload, jwtVerify } from 'jose';
import { IssuerFetchError } from '../issuers/fetch.ts';
import type { TrustedIssuer } from '../issuers/registry.ts';

/** A token whose signature, issuer, type and lifetime were checked. */
export interface VerifiedJwt {
  readonly ok: true;
  readonly claims: JWTPayload;
}

/** Why a JWT was refused: `tokenError` is RFC 6750 `error_description`-style text, safe to show. */
export interface RefusedJwt {
  readonly ok: false;
  readonly tokenError: string;
  /** The issuer could not be reached: a temporary failure, not a bad token. */
  readonly temporary?: boolean;
  /** A valid token past `exp` + leeway: the client should refresh it (IMAP `[EXPIRED]`). */
  readonly expired?: true;
}

const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** True when the token has the JWS compact shape (RFC 7515 §7.1); anything else is opaque. */
export function looksLikeJwt(token: string): boolean {
  return JWS_COMPACT.test(token);
}

/**
 * What a token in JWS compact form says before verification: its `iss` (only to pick the
 * issuer's keys), or why it is not a JWT at all (RFC 7519 §7.2 steps 2-10: each part base64url
 * JSON, the payload an object), so the refusal names the real fault.
 */
export function unverifiedIssuer(token: string): { ok: true; iss: string } | { ok: false; tokenError: string } {
  const parts = token.split('.');
  const json = (part: string | undefined): unknown => {
    try {
      return JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
  };
  const header = json(parts[0]);
  if (!header || typeof header !== 'object' || Array.isArray(header))
    return { ok: false, tokenError: 'The access token is not a JWT (its header is not base64url JSON)' };
  const payload = json(parts[1]);
  if (!payload || typeof payload !== 'object' || Array.isArray(payload))
    return { ok: false, tokenError: 'The access token is not a JWT (its payload is not a base64url JSON object)' };
  const iss = (payload as { iss?: unknown }).iss;
  if (typeof iss !== 'string' || !iss) return { ok: false, tokenError: 'The access token has no iss claim (RFC 9068 §2.2 requires one)' };
  return { ok: true, iss };
}

/** The claims RFC 9068 §2.2 requires besides `iss`, `exp` and `aud` (checked elsewhere). */
const RFC9068_CLAIMS = [
  ['sub', 'string'],
  ['client_id', 'string'],
  ['iat', 'number'],
  ['jti', 'string'],
] as const;

function isAtJwt(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const t = typ.toLowerCase();
  return t === 'at+jwt' || t === 'application/at+jwt';
}

/**
 * Verifies a JWT access token's signature with the issuer's keys and checks `iss`, `exp` (required,
 * RFC 9068 §2.2), `nbf` and `iat` (neither after now + `leewaySec`) and, when the issuer requires
 * it, `typ: at+jwt` and the claims `sub`, `client_id`, `iat`, `jti` (RFC 9068 §2.2, §4 steps 1, 3,
 * 5, 6). Only the issuer's allow-listed asymmetric
 * algorithms are accepted (never `none`, never HMAC). The audience is checked by the caller.
 */
export async function verifyJwt(token: string, issuer: TrustedIssuer, leewaySec: number, now: number): Promise<VerifiedJwt | RefusedJwt> {
  try {
    const { payload, protectedHeader } = await jwtVerify(token, issuer.keys.getKey, {
      issuer: issuer.issuer,
      algorithms: [...issuer.options.algorithms],
      clockTolerance: leewaySec,
      currentDate: new Date(now),
      requiredClaims: ['exp'],
    });
    if (issuer.options.require_at_jwt && !isAtJwt(protectedHeader.typ))
      return { ok: false, tokenError: 'The token is not a JWT access token (typ at+jwt)' };
    if (issuer.options.require_rfc9068_claims) {
      for (const [claim, type] of RFC9068_CLAIMS) {
        const value = payload[claim];
        if (typeof value !== type || value === '')
          return { ok: false, tokenError: `The access token has no ${claim} claim (RFC 9068 §2.2 requires one)` };
      }
    }
    // jose checks `iat` only with maxTokenAge: a token "issued" in the future is not valid yet.
    if (typeof payload.iat === 'number' && payload.iat > Math.floor(now / 1000) + leewaySec)
      return { ok: false, tokenError: 'The access token is issued in the future' };
    return { ok: true, claims: payload };
  } catch (err) {
    return refusal(err);
  }
}

function refusal(err: unknown): RefusedJwt {
  if (err instanceof IssuerFetchError) return { ok: false, tokenError: 'The token issuer cannot be reached', temporary: true };
  if (err instanceof errors.JWTExpired) return { ok: false, tokenError: 'The access token expired', expired: true };
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing' && err.claim === 'exp')
      return { ok: false, tokenError: 'The access token has no exp claim (RFC 9068 §2.2 requires one)' };
    if (err.reason === 'missing') return { ok: false, tokenError: `The access token has no ${err.claim} claim` };
    if (err.reason !== 'check_failed') return { ok: false, tokenError: `The access token has an invalid ${err.claim} claim` };
    if (err.claim === 'nbf') return { ok: false, tokenError: 'The access token is not valid yet' };
    if (err.claim === 'iss') return { ok: false, tokenError: 'The token issuer is not trusted here' };
    return { ok: false, tokenError: `The access token has an invalid ${err.claim} claim` };
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported)
    return { ok: false, tokenError: 'The token signature algorithm is not allowed' };
  if (err instanceof errors.JWKSNoMatchingKey) return { ok: false, tokenError: 'The token was signed with an unknown key' };
  if (err instanceof errors.JWSSignatureVerificationFailed) return { ok: false, tokenError: 'The token signature is invalid' };
  return { ok: false, tokenError: 'The access token is malformed' };
}
