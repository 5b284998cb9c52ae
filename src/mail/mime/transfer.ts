/**
 * Content-Transfer-Encoding (RFC 2045 §6). Decoding serves IMAP BINARY (RFC 3516), JMAP blob
 * parts, previews and search text; it is lenient like real decoders, and an unknown encoding
 * returns null so IMAP can answer `[UNKNOWN-CTE]` (RFC 3516 §4.3). Encoding is exact: what the
 * decoders here read back is the input, byte for byte.
 */

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Quoted-printable (RFC 2045 §6.7): `=XX`, soft line breaks, and trailing white space of an
 * encoded line dropped (rule 3) — only literal white space, never an encoded `=20` or `=09`.
 */
export function decodeQuotedPrintable(input: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(input.length);
  let o = 0;
  // Output before this index came from escapes or ended a line: trailing-space removal stops here.
  let kept = 0;
  let i = 0;
  const n = input.length;
  while (i < n) {
    const c = input[i]!;
    if (c === 0x3d) {
      const h = i + 2 < n ? hexValue(input[i + 1]!) : -1;
      const l = h >= 0 ? hexValue(input[i + 2]!) : -1;
      if (h >= 0 && l >= 0) {
        out[o++] = h * 16 + l;
        kept = o;
        i += 3;
        continue;
      }
      // Soft line break: '=' then optional transport padding, then CRLF or LF (or end of data).
      let j = i + 1;
      while (j < n && (input[j] === 0x20 || input[j] === 0x09)) j++;
      if (j >= n) break;
      if (input[j] === 0x0a) {
        kept = o;
        i = j + 1;
        continue;
      }
      if (input[j] === 0x0d && input[j + 1] === 0x0a) {
        kept = o;
        i = j + 2;
        continue;
      }
      out[o++] = c;
      i++;
      continue;
    }
    if (c === 0x0d || c === 0x0a) {
      while (o > kept && (out[o - 1] === 0x20 || out[o - 1] === 0x09)) o--;
      out[o++] = c;
      kept = o;
      i++;
      continue;
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

const HEX = Buffer.from('0123456789ABCDEF', 'latin1');
/** Quoted-printable lines stay within this many characters, soft line break included (RFC 2045 §6.7 rule 5). */
const QP_LINE = 76;

/**
 * Quoted-printable (RFC 2045 §6.7) that decodes to exactly `input`: only CRLF pairs become line
 * breaks, a lone CR or LF is `=0D`/`=0A`, whitespace before a line break or at the end is encoded,
 * and lines are soft-broken at 76 characters. No line break follows the last line.
 */
export function encodeQuotedPrintable(input: Uint8Array): Buffer {
  const n = input.length;
  // Three octets per input octet at most, plus a soft break ('=' CRLF) per 25 encoded octets.
  const out = Buffer.allocUnsafe(n * 3 + Math.ceil((n * 3) / (QP_LINE - 1)) * 3 + 3);
  let o = 0;
  let lineLength = 0;
  for (let i = 0; i < n; i++) {
    const c = input[i]!;
    if (c === 0x0d && input[i + 1] === 0x0a) {
      out[o++] = 0x0d;
      out[o++] = 0x0a;
      lineLength = 0;
      i++;
      continue;
    }
    const lineEnds = i + 1 === n || (input[i + 1] === 0x0d && input[i + 2] === 0x0a);
    const literal = (c >= 0x21 && c <= 0x7e && c !== 0x3d) || ((c === 0x20 || c === 0x09) && !lineEnds);
    const width = literal ? 1 : 3;
    // Room for this token and a soft break ('='), unless the token ends the line anyway.
    if (lineLength + width > (lineEnds ? QP_LINE : QP_LINE - 1)) {
      out[o++] = 0x3d;
      out[o++] = 0x0d;
      out[o++] = 0x0a;
      lineLength = 0;
    }
    if (literal) {
      out[o++] = c;
    } else {
      out[o++] = 0x3d;
      out[o++] = HEX[c >> 4]!;
      out[o++] = HEX[c & 15]!;
    }
    lineLength += width;
  }
  return out.subarray(0, o);
}

/** Base64 (RFC 2045 §6.8) in lines of 76 characters, CRLF between lines and none after the last. */
export function encodeBase64(input: Uint8Array): Buffer {
  const text = Buffer.from(input.buffer, input.byteOffset, input.length).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += 76) lines.push(text.slice(i, i + 76));
  return Buffer.from(lines.join('\r\n'), 'latin1');
}
