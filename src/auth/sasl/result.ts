/**
 * What the pure SASL codecs return instead of throwing (ARCHITECTURE.md "Core ideas" 3): a decoded
 * value or a typed error whose `detail` never repeats the payload (it may hold a secret).
 */
export type DecodeErrorCode = 'invalid_base64' | 'invalid_utf8' | 'malformed' | 'too_long';

export interface DecodeError {
  readonly ok: false;
  readonly code: DecodeErrorCode;
  /** Which rule the input broke, for logs and BAD/501 texts; never the input itself. */
  readonly detail: string;
}

export type Decoded<T> = { readonly ok: true; readonly value: T } | DecodeError;

/** Builds a decode failure. */
export function decodeError(code: DecodeErrorCode, detail: string): DecodeError {
  return { ok: false, code, detail };
}

/** Wraps a decoded value. */
export function decoded<T>(value: T): Decoded<T> {
  return { ok: true, value };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strict UTF-8 decoding (RFC 3629): invalid sequences are an error, not U+FFFD. */
export function decodeUtf8(bytes: Uint8Array): Decoded<string> {
  try {
    return decoded(utf8.decode(bytes));
  } catch {
    return decodeError('invalid_utf8', 'the message is not valid UTF-8');
  }
}

/** UTF-8 bytes of a string. */
export function encodeUtf8(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}
