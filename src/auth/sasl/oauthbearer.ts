import { escapeSaslname, parseGs2Header } from './gs2.ts';
import { parseBearerAuthValue, parseKvPairs } from './kv.ts';
import { type Decoded, decodeError, decoded, decodeUtf8, encodeUtf8 } from './result.ts';

/** A client's OAUTHBEARER message (RFC 7628 §3.1). */
export interface OAuthBearerResponse {
  readonly kind: 'response';
  /** The GS2 `a=` authorization identity, unescaped. */
  readonly authzid: string | undefined;
  readonly host: string | undefined;
  readonly port: number | undefined;
  /** The bearer token; empty for the discovery probe (RFC 7628 §4.3). */
  readonly token: string;
}

/** The lone 0x01 a client sends after a failure challenge (RFC 7628 §3.2.3). */
export interface OAuthBearerDummy {
  readonly kind: 'dummy';
}

export type OAuthBearerMessage = OAuthBearerResponse | OAuthBearerDummy;

const PORT = /^(?:0|[1-9][0-9]{0,4})$/;

/**
 * Encodes the client response `gs2-header 0x01 [host=..0x01] [port=..0x01] auth=Bearer <token>
 * 0x01 0x01` (RFC 7628 §3.1), escaping the authzid (`=3D`, `=2C`, RFC 5801 §4).
 */
export function encodeOAuthBearer(input: { authzid?: string; host?: string; port?: number; token: string }): Uint8Array {
  const gs2 = `n,${input.authzid ? `a=${escapeSaslname(input.authzid)}` : ''},`;
  const pairs: string[] = [];
  if (input.host !== undefined) pairs.push(`host=${input.host}`);
  if (input.port !== undefined) pairs.push(`port=${input.port}`);
  pairs.push(`auth=Bearer ${input.token}`);
  return encodeUtf8(`${gs2}\x01${pairs.map((p) => `${p}\x01`).join('')}\x01`);
}

/** The 0x01 dummy response that ends a failed exchange (RFC 7628 §3.2.3). */
export const OAUTHBEARER_DUMMY_RESPONSE: Uint8Array = Uint8Array.of(1);

/**
 * Decodes an OAUTHBEARER client message (RFC 7628 §3.1): the GS2 header, key/value pairs each
 * ended by 0x01 and a final 0x01. `auth` is required; unknown keys are ignored (§3.1); `port` is
 * a decimal without leading zeros.
 */
export function decodeOAuthBearer(bytes: Uint8Array): Decoded<OAuthBearerMessage> {
  if (bytes.length === 1 && bytes[0] === 1) return decoded({ kind: 'dummy' });
  const text = decodeUtf8(bytes);
  if (!text.ok) return text;
  const parts = text.value.split('\x01');
  // gs2-header, pairs…, '' (after the last pair's 0x01), '' (after the final 0x01)
  if (parts.length < 3 || parts.at(-1) !== '' || parts.at(-2) !== '')
    return decodeError('malformed', 'the message must end with two 0x01 bytes');
  const gs2 = parseGs2Header(parts[0]!);
  if (!gs2.ok) return gs2;
  const kv = parseKvPairs(parts.slice(1, -2));
  if (!kv.ok) return kv;
  const auth = kv.value.get('auth');
  if (auth === undefined) return decodeError('malformed', 'the auth key is missing');
  const token = parseBearerAuthValue(auth);
  if (!token.ok) return token;
  const portText = kv.value.get('port');
  let port: number | undefined;
  if (portText !== undefined) {
    if (!PORT.test(portText) || Number(portText) > 65535) return decodeError('malformed', 'port is not a decimal port number');
    port = Number(portText);
  }
  return decoded({ kind: 'response', authzid: gs2.value.authzid, host: kv.value.get('host'), port, token: token.value });
}

/** The JSON a server sends as its failure challenge (RFC 7628 §3.2.2). */
export interface OAuthBearerFailure {
  /** An OAuth error code (`invalid_token`, `insufficient_scope`, `invalid_request`). */
  readonly status: string;
  /** One scope that would work. */
  readonly scope?: string;
  /** URL of the OpenID configuration document of an issuer that can mint tokens here. */
  readonly openidConfiguration?: string;
}

/** Encodes the failure challenge `{"status":…,"scope":…,"openid-configuration":…}` (RFC 7628 §3.2.2). */
export function encodeOAuthBearerFailure(failure: OAuthBearerFailure): Uint8Array {
  const json: Record<string, string> = { status: failure.status };
  if (failure.scope) json.scope = failure.scope;
  if (failure.openidConfiguration) json['openid-configuration'] = failure.openidConfiguration;
  return encodeUtf8(JSON.stringify(json));
}

/** Decodes a failure challenge (client side, RFC 7628 §3.2.2); `status` is required, other members are optional strings. */
export function decodeOAuthBearerFailure(bytes: Uint8Array): Decoded<OAuthBearerFailure> {
  const obj = parseJsonObject(bytes);
  if (!obj.ok) return obj;
  const { status, scope } = obj.value;
  const conf = obj.value['openid-configuration'];
  if (typeof status !== 'string' || !status) return decodeError('malformed', 'the challenge has no status');
  if ((scope !== undefined && typeof scope !== 'string') || (conf !== undefined && typeof conf !== 'string'))
    return decodeError('malformed', 'scope and openid-configuration must be strings');
  return decoded({
    status,
    ...(scope ? { scope } : {}),
    ...(conf ? { openidConfiguration: conf as string } : {}),
  });
}

/** Parses a UTF-8 JSON object, never throwing. */
export function parseJsonObject(bytes: Uint8Array): Decoded<Record<string, unknown>> {
  const text = decodeUtf8(bytes);
  if (!text.ok) return text;
  let value: unknown;
  try {
    value = JSON.parse(text.value);
  } catch {
    return decodeError('malformed', 'the challenge is not JSON');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return decodeError('malformed', 'the challenge is not a JSON object');
  return decoded(value as Record<string, unknown>);
}
