/**
 * Modified UTF-7 mailbox names (RFC 3501 §5.1.3), used with IMAP4rev1 clients that have not
 * enabled UTF8=ACCEPT; IMAP4rev2 clients use UTF-8 (RFC 9051 §5.1).
 */

/** Encodes a Unicode mailbox name as modified UTF-7. */
export function encodeMutf7(name: string): string {
  let out = '';
  let pending: number[] = [];
  const flush = () => {
    if (!pending.length) return;
    const bytes = Buffer.alloc(pending.length * 2);
    for (const [i, u] of pending.entries()) bytes.writeUInt16BE(u, i * 2);
    out += `&${bytes.toString('base64').replace(/=+$/, '').replace(/\//g, ',')}-`;
    pending = [];
  };
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) {
      flush();
      out += c === 0x26 ? '&-' : name[i];
    } else pending.push(c);
  }
  flush();
  return out;
}

/**
 * Decodes a modified UTF-7 name; null when it is not valid modified UTF-7 (RFC 3501 §5.1.3): an
 * unterminated or malformed shift, an encoded printable ASCII character, two adjacent shifts, or
 * half a UTF-16 surrogate pair. Only the canonical spelling is accepted, so one name has one form.
 */
export function decodeMutf7(name: string): string | null {
  const out = decodeLoose(name);
  if (out === null || !out.isWellFormed() || encodeMutf7(out) !== name) return null;
  return out;
}

function decodeLoose(name: string): string | null {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    const code = name.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) return null;
    if (c !== '&') {
      out += c;
      continue;
    }
    const end = name.indexOf('-', i + 1);
    if (end < 0) return null;
    if (end === i + 1) {
      out += '&';
      i = end;
      continue;
    }
    const b64 = name.slice(i + 1, end);
    if (!/^[A-Za-z0-9+,]+$/.test(b64)) return null;
    const bytes = Buffer.from(b64.replace(/,/g, '/'), 'base64');
    if (bytes.length % 2 !== 0 || bytes.length === 0) return null;
    for (let j = 0; j < bytes.length; j += 2) out += String.fromCharCode(bytes.readUInt16BE(j));
    i = end;
  }
  return out;
}
