import { type Decoded, decodeError, decoded } from './result.ts';

// STANDARDS.md §9.1: Buffer.from(s, 'base64') skips garbage silently, so the shape is checked first.
const STRICT = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Largest SASL message accepted: big JWT access tokens fit, memory stays bounded. */
export const MAX_SASL_BYTES = 64 * 1024;

/**
 * Decodes SASL base64 strictly (RFC 4648 §4 alphabet with padding; RFC 4954 §4, RFC 4959 §3,
 * RFC 9051 §6.2.2): characters outside the alphabet, `=` anywhere but the end, or non-zero
 * padding bits are an error.
 */
export function decodeBase64(text: string, maxBytes = MAX_SASL_BYTES): Decoded<Uint8Array> {
  if (text.length > Math.ceil(maxBytes / 3) * 4) return decodeError('too_long', `the message is longer than ${maxBytes} bytes`);
  if (!STRICT.test(text)) return decodeError('invalid_base64', 'the line is not valid base64');
  const bytes = Buffer.from(text, 'base64');
  // Non-zero padding bits (RFC 4648 §3.5) mean two texts for one message; no real encoder makes them.
  if (bytes.toString('base64') !== text) return decodeError('invalid_base64', 'the base64 has non-zero padding bits');
  return decoded(new Uint8Array(bytes));
}

/** Encodes bytes as padded base64 (RFC 4648 §4). */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
