import { type Decoded, decodeError, decoded } from './result.ts';

const KEY = /^[A-Za-z]+$/;
// value = *(VCHAR / SP / HTAB / CR / LF) (RFC 7628 §3.1)
const VALUE = /^[\x21-\x7e \t\r\n]*$/;

/**
 * Parses the `key=value` pairs of an OAUTHBEARER / XOAUTH2 message (RFC 7628 §3.1), the parts
 * between 0x01 separators. Duplicate keys are an error; the caller ignores unknown keys.
 */
export function parseKvPairs(pairs: readonly string[]): Decoded<ReadonlyMap<string, string>> {
  const out = new Map<string, string>();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return decodeError('malformed', 'a key=value pair is malformed');
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (!KEY.test(key)) return decodeError('malformed', 'a key is not alphabetic');
    if (!VALUE.test(value)) return decodeError('malformed', 'a value has characters outside VCHAR/SP/HTAB/CR/LF');
    if (out.has(key)) return decodeError('malformed', `the key ${key} appears twice`);
    out.set(key, value);
  }
  return decoded(out);
}

// b64token (RFC 6750 §2.1); RFC 9110 §11.4 credentials: scheme, then one space-separated token68.
const AUTH_VALUE = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?: +([A-Za-z0-9\-._~+/]+=*))? *$/;

/**
 * Reads an `auth=` value (an HTTP Authorization value, RFC 7628 §3.1): `Bearer <token>` with the
 * scheme compared case-insensitively. An empty value or `Bearer` without a token is the discovery
 * probe of RFC 7628 §4.3 and yields an empty token.
 */
export function parseBearerAuthValue(value: string): Decoded<string> {
  if (value === '') return decoded('');
  const m = AUTH_VALUE.exec(value);
  if (!m) return decodeError('malformed', 'auth is not "Bearer <token>"');
  if (m[1]!.toLowerCase() !== 'bearer') return decodeError('malformed', 'only the Bearer scheme is supported');
  return decoded(m[2] ?? '');
}
