import { decodeCharset } from './charset.ts';

/**
 * RFC 2047 encoded-word decoding for header text. Adjacent encoded words separated only by
 * whitespace are joined (§6.2), and their bytes are concatenated before charset decoding so a
 * multi-byte character split across two words survives (common in real mail).
 */

const WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

function decodeQ(text: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) out.push(0x20);
    else if (c === 0x3d && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(c & 0xff);
  }
  return Buffer.from(out);
}

function wordBytes(encoding: string, text: string): Buffer {
  return encoding === 'B' || encoding === 'b' ? Buffer.from(text, 'base64') : decodeQ(text);
}

/** Decodes every RFC 2047 encoded word in `value`; text that is not an encoded word is kept as is. */
export function decodeEncodedWords(value: string): string {
  if (!value.includes('=?')) return value;
  let out = '';
  let last = 0;
  let pending: { charset: string; bytes: Buffer[] } | null = null;
  const flush = () => {
    // A NUL hidden in an encoded word would reach IMAP strings and database text: drop it.
    if (pending) out += decodeCharset(Buffer.concat(pending.bytes), pending.charset).replace(/\0/g, '');
    pending = null;
  };
  for (const m of value.matchAll(WORD)) {
    const between = value.slice(last, m.index);
    // RFC 2231 §5: a language suffix `charset*lang` is allowed in encoded words.
    const charset = m[1]!.split('*')[0]!.toLowerCase();
    const bytes = wordBytes(m[2]!, m[3]!);
    const p = pending as { charset: string; bytes: Buffer[] } | null;
    if (p && /^[ \t\r\n]*$/.test(between)) {
      if (p.charset === charset) p.bytes.push(bytes);
      else {
        flush();
        pending = { charset, bytes: [bytes] };
      }
    } else {
      flush();
      out += between;
      pending = { charset, bytes: [bytes] };
    }
    last = m.index + m[0].length;
  }
  flush();
  return out + value.slice(last);
}
