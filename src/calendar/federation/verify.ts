import { createHash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { tryParseAddress } from '../../core/address.ts';
import { ASSERTION_ALGORITHMS, ASSERTION_TYP } from './assertion.ts';
import { FederationError, type RemoteIssuers } from './issuers.ts';

/**
 * Checks a free/busy assertion from another domain (RFC 7523 §3 processing rules): explicit type,
 * asymmetric algorithm, `aud` exactly this free/busy URL, `exp`/`iat` within the leeway and a short
 * lifetime, `iss` equal to the issuer the asker's own domain names through WebFinger, a signature by
 * that issuer's published keys, and a `jti` never seen before (replays refused until expiry).
 */

export type VerifyOutcome =
  | { readonly ok: true; readonly asker: string; readonly issuer: string }
  | { readonly ok: false; readonly reason: string };

/** Where the verifier finds issuers, records used jtis and learns which domains are local. */
export interface AssertionVerifierDeps {
  readonly issuers: RemoteIssuers;
  /** Records `key` until `expiresAt`; false when it was recorded before (a replay). */
  readonly recordUse: (key: string, expiresAt: number) => Promise<boolean>;
  /** Whether a domain is served here (its users authenticate locally, never by assertion). */
  readonly isLocalDomain: (domain: string) => Promise<boolean>;
  readonly leewayMs: number;
  readonly maxLifetimeMs: number;
  readonly now?: () => number;
}

const MAX_TOKEN_LENGTH = 16 * 1024;

/** Verifies incoming free/busy assertions (RFC 7523 §3 rules; see the module comment). */
export class AssertionVerifier {
  readonly #deps: AssertionVerifierDeps;
  readonly #now: () => number;

  constructor(deps: AssertionVerifierDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** Verifies `token` for one of `audiences` (the free/busy URL as requested). Never throws. */
  async verify(token: string, audiences: readonly string[]): Promise<VerifyOutcome> {
    try {
      return await this.#verify(token, audiences);
    } catch (err) {
      if (err instanceof FederationError) return { ok: false, reason: err.message };
      if (err instanceof errors.JOSEError) return { ok: false, reason: `${err.code}: ${err.message}` };
      return { ok: false, reason: `unexpected: ${(err as Error).message}` };
    }
  }

  async #verify(token: string, audiences: readonly string[]): Promise<VerifyOutcome> {
    if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token))
      return fail('not a compact JWS');
    let header: ReturnType<typeof decodeProtectedHeader>;
    let claims: ReturnType<typeof decodeJwt>;
    try {
      header = decodeProtectedHeader(token);
      claims = decodeJwt(token);
    } catch {
      return fail('not a JWT');
    }
    if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== ASSERTION_TYP)
      return fail(`typ is ${JSON.stringify(header.typ)}, not ${ASSERTION_TYP}`);
    if (typeof header.alg !== 'string' || !ASSERTION_ALGORITHMS.includes(header.alg))
      return fail(`algorithm ${String(header.alg)} is not accepted`);
    const { iss, sub, aud, exp, iat, jti } = claims;
    if (typeof iss !== 'string' || !iss.startsWith('https://')) return fail('iss is not an https URL');
    if (typeof sub !== 'string') return fail('sub is missing');
    const asker = tryParseAddress(sub);
    if (!asker) return fail('sub is not an email address');
    if (typeof aud !== 'string' || !audiences.includes(aud)) return fail('aud is not this free/busy URL');
    if (typeof exp !== 'number' || typeof iat !== 'number') return fail('exp and iat are required');
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) return fail('jti is missing or too long');
    const now = this.#now();
    const leeway = this.#deps.leewayMs;
    if (exp * 1000 <= now - leeway) return fail('expired');
    if (iat * 1000 > now + leeway) return fail('issued in the future');
    if ((exp - iat) * 1000 > this.#deps.maxLifetimeMs) return fail(`lifetime ${exp - iat}s is longer than allowed`);
    if (await this.#deps.isLocalDomain(asker.domain)) return fail(`${asker.domain} is served here; its users sign in here`);

    // The asker's own domain names the only issuer that may speak for them.
    const authoritative = await this.#deps.issuers.issuerOf(asker.normalized);
    if (authoritative !== iss) return fail(`iss ${iss} is not the issuer ${asker.domain} names for ${asker.normalized} (${authoritative})`);

    await jwtVerify(token, this.#deps.issuers.keyResolver(iss), {
      issuer: iss,
      audience: aud,
      algorithms: ASSERTION_ALGORITHMS,
      typ: ASSERTION_TYP,
      clockTolerance: Math.round(leeway / 1000),
      currentDate: new Date(now),
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti'],
    });

    // Only a verified assertion may use up its jti: forged ones cannot burn another's.
    const key = createHash('sha256').update(`${iss}\n${jti}`).digest('base64url');
    if (!(await this.#deps.recordUse(key, exp * 1000 + leeway))) return fail(`replayed (jti already used)`);
    return { ok: true, asker: asker.normalized, issuer: iss };
  }
}

function fail(reason: string): VerifyOutcome {
  return { ok: false, reason };
}
