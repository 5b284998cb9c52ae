import { type Decoded, decodeError, decoded, decodeUtf8, encodeUtf8 } from './result.ts';

/** The fields of a PLAIN message (RFC 4616 §2). */
export interface PlainMessage {
  /** Authorization identity; empty when the client acts as itself. */
  readonly authzid: string;
  readonly authcid: string;
  readonly password: string;
}

/** Encodes `[authzid] NUL authcid NUL passwd` (RFC 4616 §2). */
export function encodePlain(message: { authzid?: string; authcid: string; password: string }): Uint8Array {
  return encodeUtf8(`${message.authzid ?? ''}\0${message.authcid}\0${message.password}`);
}

/**
 * Decodes a PLAIN message (RFC 4616 §2): exactly three NUL-separated UTF-8 fields, authcid and
 * password non-empty.
 */
export function decodePlain(bytes: Uint8Array): Decoded<PlainMessage> {
  const text = decodeUtf8(bytes);
  if (!text.ok) return text;
  const parts = text.value.split('\0');
  if (parts.length !== 3) return decodeError('malformed', 'PLAIN needs exactly three NUL-separated fields');
  const [authzid, authcid, password] = parts as [string, string, string];
  if (!authcid) return decodeError('malformed', 'PLAIN needs a user name');
  if (!password) return decodeError('malformed', 'PLAIN needs a password');
  return decoded({ authzid, authcid, password });
}
