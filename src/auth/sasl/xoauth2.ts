import { parseBearerAuthValue, parseKvPairs } from './kv.ts';
import { parseJsonObject } from './oauthbearer.ts';
import { type Decoded, decodeError, decoded, decodeUtf8, encodeUtf8 } from './result.ts';

/** A client's XOAUTH2 message (Google/Microsoft; STANDARDS.md §2.7). */
export interface XOAuth2Response {
  readonly user: string;
  readonly token: string;
}

/** Encodes `user=<user> 0x01 auth=Bearer <token> 0x01 0x01`. */
export function encodeXOAuth2(input: XOAuth2Response): Uint8Array {
  return encodeUtf8(`user=${input.user}\x01auth=Bearer ${input.token}\x01\x01`);
}

/**
 * Decodes an XOAUTH2 initial response: the OAUTHBEARER key/value grammar without a GS2 header
 * (STANDARDS.md §2.7). `user` and `auth` are required; other keys are ignored.
 */
export function decodeXOAuth2(bytes: Uint8Array): Decoded<XOAuth2Response> {
  const text = decodeUtf8(bytes);
  if (!text.ok) return text;
  const parts = text.value.split('\x01');
  if (parts.length < 3 || parts.at(-1) !== '' || parts.at(-2) !== '')
    return decodeError('malformed', 'the message must end with two 0x01 bytes');
  const kv = parseKvPairs(parts.slice(0, -2));
  if (!kv.ok) return kv;
  const user = kv.value.get('user');
  const auth = kv.value.get('auth');
  if (!user) return decodeError('malformed', 'the user key is missing');
  if (auth === undefined) return decodeError('malformed', 'the auth key is missing');
  const token = parseBearerAuthValue(auth);
  if (!token.ok) return token;
  return decoded({ user, token: token.value });
}

/** The XOAUTH2 failure challenge: `status` is an HTTP status code as a string (STANDARDS.md §2.7). */
export interface XOAuth2Failure {
  readonly status: string;
  readonly schemes: string;
  readonly scope: string;
}

/** Encodes `{"status":"401","schemes":"bearer","scope":…}`. */
export function encodeXOAuth2Failure(failure: XOAuth2Failure): Uint8Array {
  return encodeUtf8(JSON.stringify({ status: failure.status, schemes: failure.schemes, scope: failure.scope }));
}

/** Decodes an XOAUTH2 failure challenge (client side). */
export function decodeXOAuth2Failure(bytes: Uint8Array): Decoded<XOAuth2Failure> {
  const obj = parseJsonObject(bytes);
  if (!obj.ok) return obj;
  const { status, schemes, scope } = obj.value;
  if (typeof status !== 'string' || !status) return decodeError('malformed', 'the challenge has no status');
  return decoded({
    status,
    schemes: typeof schemes === 'string' ? schemes : '',
    scope: typeof scope === 'string' ? scope : '',
  });
}
