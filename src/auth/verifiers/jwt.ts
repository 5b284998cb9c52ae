import { constants, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { errors } from 'jose';
import { IssuerFetchError } from '../issuers/fetch.ts';
import type { TrustedIssuer } from '../issuers/registry.ts';

type Claims = Readonly<Record<string, unknown>>;

/** A token whose signature, issuer, type and lifetime were checked. */
export interface VerifiedJwt {
  readonly ok: true;
  readonly claims: Claims;
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

/** A JWS compact token split and decoded, not yet verified (RFC 7515 §7.1, RFC 7519 §7.2). */
export interface DecodedJwt {
  readonly ok: true;
  readonly header: Claims;
  readonly payload: Claims;
  /** The claimed issuer: only used to pick the issuer's keys. */
  readonly iss: string;
  /** `BASE64URL(header) || '.' || BASE64URL(payload)`, the bytes the signature covers. */
  readonly signingInput: string;
  readonly signature: string;
}

const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** True when the token has the JWS compact shape (RFC 7515 §7.1); anything else is opaque. */
export function looksLikeJwt(token: string): boolean {
  return JWS_COMPACT.test(token);
}

function jsonObject(part: string): Claims | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Claims) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Decoded JOSE headers by their base64url text: an issuer signs every token with the same few
 * headers, so each is parsed once. Frozen (shared between tokens); bounded, oldest dropped first.
 */
const headers = new Map<string, Claims>();
const MAX_HEADERS = 256;

function jsonHeader(part: string): Claims | undefined {
  const known = headers.get(part);
  if (known) return known;
  const header = jsonObject(part);
  if (!header) return undefined;
  if (headers.size >= MAX_HEADERS) headers.delete(headers.keys().next().value!);
  headers.set(part, Object.freeze(header));
  return header;
}

/**
 * Splits a token in JWS compact form and decodes its header and payload once (RFC 7519 §7.2
 * steps 2-10: each part base64url JSON, both objects), or says why it is not a JWT at all, so the
 * refusal names the real fault. The `iss` it reports is unverified.
 */
export function decodeJwt(token: string): DecodedJwt | { ok: false; tokenError: string } {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  const header = first > 0 ? jsonHeader(token.slice(0, first)) : undefined;
  if (!header) return { ok: false, tokenError: 'The access token is not a JWT (its header is not base64url JSON)' };
  const payload = second > first ? jsonObject(token.slice(first + 1, second)) : undefined;
  if (!payload) return { ok: false, tokenError: 'The access token is not a JWT (its payload is not a base64url JSON object)' };
  const iss = payload.iss;
  if (typeof iss !== 'string' || !iss) return { ok: false, tokenError: 'The access token has no iss claim (RFC 9068 §2.2 requires one)' };
  return { ok: true, header, payload, iss, signingInput: token.slice(0, second), signature: token.slice(second + 1) };
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
 * How node:crypto checks each JWS algorithm (RFC 7518 §3.3-3.5, RFC 8037 §3.1). `ecSize` is the
 * octet length of r and s in an ECDSA signature (RFC 7518 §3.4).
 */
const SIGNATURE: Readonly<Record<string, { hash: string | null; padding?: number; saltLength?: number; ecSize?: number }>> = {
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
  PS256: { hash: 'sha256', padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
  PS384: { hash: 'sha384', padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 },
  PS512: { hash: 'sha512', padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 },
  ES256: { hash: 'sha256', ecSize: 32 },
  ES384: { hash: 'sha384', ecSize: 48 },
  ES512: { hash: 'sha512', ecSize: 66 },
  EdDSA: { hash: null },
};

/** Where an unsigned big-endian integer's minimal DER INTEGER body starts (X.690 §8.3.2). */
function firstSignificant(bytes: Buffer, start: number, end: number): number {
  let i = start;
  while (i < end - 1 && bytes[i] === 0) i++;
  return i;
}

/**
 * The JWS form of an ECDSA signature (RFC 7518 §3.4: r || s, each `size` octets) as the DER
 * `ECDSA-Sig-Value` (RFC 3279 §2.2.3: a SEQUENCE of two minimal positive INTEGERs, X.690 §8.3)
 * node:crypto takes with a bare KeyObject, which skips the per-call key handling of the
 * `dsaEncoding` option. Written into one buffer. Undefined when the length is wrong.
 */
export function ecdsaDer(signature: Buffer, size: number): Buffer | undefined {
  if (signature.length !== 2 * size) return undefined;
  const r = firstSignificant(signature, 0, size);
  const s = firstSignificant(signature, size, 2 * size);
  const rPad = signature[r]! & 0x80 ? 1 : 0;
  const sPad = signature[s]! & 0x80 ? 1 : 0;
  const rLen = rPad + size - r;
  const sLen = sPad + 2 * size - s;
  const len = 4 + rLen + sLen;
  const head = len < 0x80 ? 2 : 3;
  const out = Buffer.allocUnsafe(head + len);
  let at = 0;
  out[at++] = 0x30;
  if (head === 3) out[at++] = 0x81;
  out[at++] = len;
  out[at++] = 0x02;
  out[at++] = rLen;
  if (rPad) out[at++] = 0;
  at += signature.copy(out, at, r, size);
  out[at++] = 0x02;
  out[at++] = sLen;
  if (sPad) out[at++] = 0;
  signature.copy(out, at, s, 2 * size);
  return out;
}

function signatureValid(alg: string, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  const s = SIGNATURE[alg]!;
  try {
    if (s.ecSize) {
      const der = ecdsaDer(signature, s.ecSize);
      return der !== undefined && cryptoVerify(s.hash, data, key, der);
    }
    if (s.padding !== undefined) return cryptoVerify(s.hash, data, { key, padding: s.padding, saltLength: s.saltLength! }, signature);
    return cryptoVerify(s.hash, data, key, signature);
  } catch {
    return false;
  }
}

/** A NumericDate claim (RFC 7519 §2) that is present must be a number. */
function badDate(payload: Claims, claim: 'exp' | 'nbf' | 'iat'): boolean {
  return payload[claim] !== undefined && typeof payload[claim] !== 'number';
}

/**
 * Verifies a decoded JWT access token: only the issuer's allow-listed asymmetric algorithms
 * (never `none`, never HMAC) and no `crit` extensions (RFC 7515 §4.1.11); the signature with the
 * issuer's key (node:crypto, key imported once per key-set load); then `iss`, `exp` (required,
 * RFC 9068 §2.2), `nbf` and `iat` (neither after now + `leewaySec`) and, when the issuer requires
 * it, `typ: at+jwt` and the claims `sub`, `client_id`, `iat`, `jti` (RFC 9068 §2.2, §4 steps 1,
 * 3, 5, 6). The audience is checked by the caller.
 */
export async function verifyJwt(jwt: DecodedJwt, issuer: TrustedIssuer, leewaySec: number, now: number): Promise<VerifiedJwt | RefusedJwt> {
  const { header, payload } = jwt;
  const alg = header.alg;
  if (header.crit !== undefined)
    return { ok: false, tokenError: 'The token names critical header parameters this server does not support' };
  if (typeof alg !== 'string' || !SIGNATURE[alg] || !issuer.options.algorithms.includes(alg as never))
    return { ok: false, tokenError: 'The token signature algorithm is not allowed' };
  const kid = header.kid;
  if (kid !== undefined && typeof kid !== 'string') return { ok: false, tokenError: 'The access token is malformed' };
  let keys: KeyObject[];
  try {
    keys = await issuer.keys.verificationKeys(alg, kid);
  } catch (err) {
    return refusal(err);
  }
  const data = Buffer.from(jwt.signingInput);
  const signature = Buffer.from(jwt.signature, 'base64url');
  if (!keys.some((key) => signatureValid(alg, key, data, signature))) return { ok: false, tokenError: 'The token signature is invalid' };

  if (payload.exp === undefined) return { ok: false, tokenError: 'The access token has no exp claim (RFC 9068 §2.2 requires one)' };
  if (payload.iss !== issuer.issuer) return { ok: false, tokenError: 'The token issuer is not trusted here' };
  const nowSec = Math.floor(now / 1000);
  if (badDate(payload, 'iat')) return { ok: false, tokenError: 'The access token has an invalid iat claim' };
  if (badDate(payload, 'nbf')) return { ok: false, tokenError: 'The access token has an invalid nbf claim' };
  if (typeof payload.nbf === 'number' && payload.nbf > nowSec + leewaySec)
    return { ok: false, tokenError: 'The access token is not valid yet' };
  if (badDate(payload, 'exp')) return { ok: false, tokenError: 'The access token has an invalid exp claim' };
  if ((payload.exp as number) <= nowSec - leewaySec) return { ok: false, tokenError: 'The access token expired', expired: true };
  if (issuer.options.require_at_jwt && !isAtJwt(header.typ))
    return { ok: false, tokenError: 'The token is not a JWT access token (typ at+jwt)' };
  if (issuer.options.require_rfc9068_claims) {
    for (const [claim, type] of RFC9068_CLAIMS) {
      const value = payload[claim];
      if (typeof value !== type || value === '')
        return { ok: false, tokenError: `The access token has no ${claim} claim (RFC 9068 §2.2 requires one)` };
    }
  }
  if (typeof payload.iat === 'number' && payload.iat > nowSec + leewaySec)
    return { ok: false, tokenError: 'The access token is issued in the future' };
  return { ok: true, claims: payload };
}

function refusal(err: unknown): RefusedJwt {
  if (err instanceof IssuerFetchError) return { ok: false, tokenError: 'The token issuer cannot be reached', temporary: true };
  if (err instanceof errors.JWKSNoMatchingKey) return { ok: false, tokenError: 'The token was signed with an unknown key' };
  // Any other failure to load keys (a JWKS that is not JSON, a file that cannot be read) is the issuer's.
  return { ok: false, tokenError: 'The token issuer cannot be reached', temporary: true };
}
