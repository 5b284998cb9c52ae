/**
 * Content-Transfer-Encoding decoding (RFC 2045 §6) for IMAP BINARY (RFC 3516), JMAP blob parts,
 * previews and search text. Lenient like real decoders; an unknown encoding returns null so IMAP
 * can answer `[UNKNOWN-CTE]` (RFC 3516 §4.3).
 */

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Quoted-printable (RFC 2045 §6.7): `=XX`, soft line breaks, trailing whitespace dropped. */
export function decodeQuotedPrintable(input: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(input.length);
  let o = 0;
  let i = 0;
  const n = input.length;
  while (i < n) {
    const c = input[i]!;
    if (c === 0x3d) {
      const h = i + 2 < n ? hexValue(input[i + 1]!) : -1;
      const l = h >= 0 ? hexValue(input[i + 2]!) : -1;
      if (h >= 0 && l >= 0) {
        out[o++] = h * 16 + l;
        i += 3;
        continue;
      }
      // Soft line break: '=' then optional transport padding, then CRLF or LF (or end of data).
      let j = i + 1;
      while (j < n && (input[j] === 0x20 || input[j] === 0x09)) j++;
      if (j >= n) break;
      if (input[j] === 0x0a) {
        i = j + 1;
        continue;
      }
      if (input[j] === 0x0d && input[j + 1] === 0x0a) {
        i = j + 2;
        continue;
      }
      out[o++] = c;
      i++;
      continue;
    }
    if (c === 0x0d || c === 0x0a) {
      while (o > 0 && (out[o - 1] === 0x20 || out[o - 1] === 0x09)) o--;
    }
    out[o++] = c;
    i++;
  }
  return out.subarray(0, o);
}

/** Base64 (RFC 2045 §6.8), skipping line breaks and characters outside the alphabet. */
export function decodeBase64(input: Uint8Array): Buffer {
  return Buffer.from(Buffer.from(input.buffer, input.byteOffset, input.length).toString('latin1'), 'base64');
}

/** Decodes a body by its Content-Transfer-Encoding; null for an encoding this server does not know. */
export function decodeTransfer(body: Uint8Array, encoding: string): Buffer | null {
  switch (encoding.toUpperCase()) {
    case '7BIT':
    case '8BIT':
    case 'BINARY':
    case '':
      return Buffer.from(body.buffer, body.byteOffset, body.length);
    case 'BASE64':
      return decodeBase64(body);
    case 'QUOTED-PRINTABLE':
      return decodeQuotedPrintable(body);
    default:
      return null;
  }
}
