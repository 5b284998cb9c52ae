import { type Decoded, decodeError, decoded, decodeUtf8, encodeUtf8 } from './result.ts';

/**
 * The LOGIN mechanism (draft-murchison-sasl-login): the server asks `Username:` then `Password:`,
 * the client answers each with a bare UTF-8 string. Some clients send the user name as an
 * initial response.
 */
export const LOGIN_USERNAME_CHALLENGE = encodeUtf8('Username:');
export const LOGIN_PASSWORD_CHALLENGE = encodeUtf8('Password:');

/** Decodes one LOGIN answer (user name or password): non-empty UTF-8 without NUL. */
export function decodeLoginField(bytes: Uint8Array, what: 'user name' | 'password'): Decoded<string> {
  const text = decodeUtf8(bytes);
  if (!text.ok) return text;
  if (!text.value) return decodeError('malformed', `LOGIN needs a ${what}`);
  if (text.value.includes('\0')) return decodeError('malformed', `the LOGIN ${what} contains NUL`);
  return decoded(text.value);
}
