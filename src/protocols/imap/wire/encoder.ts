import { isAtomChar } from './cursor.ts';
import { encodeMutf7 } from './mutf7.ts';

/**
 * Response encoding (RFC 9051 §4.3, §7, §9): strings as atoms, quoted strings or literals,
 * NIL, lists, and response lines. Output is text; literals are written inline as
 * `{bytes}\r\n…` (byte length of the UTF-8 encoding) so a whole response is one string.
 */

export interface EncodeOptions {
  /** The client accepts UTF-8 in quoted strings (IMAP4rev2 or UTF8=ACCEPT enabled, RFC 9051 §6.3.1). */
  readonly utf8: boolean;
}

const MAX_QUOTED = 4096;

/** True when `s` can be a quoted string: no CR, LF or NUL, and (unless `utf8`) 7-bit only. */
function quotable(s: string, utf8: boolean): boolean {
  if (s.length > MAX_QUOTED) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x0d || c === 0x0a || c === 0) return false;
    if (c > 0x7f && !utf8) return false;
  }
  return true;
}

/** A string (RFC 9051 §4.3): quoted when possible, else a literal. */
export function str(value: string, o: EncodeOptions): string {
  // NUL is allowed in no IMAP string, quoted or literal (RFC 9051 §4.3).
  const s = value.includes('\0') ? value.replace(/\0/g, '') : value;
  if (quotable(s, o.utf8)) return `"${s.replace(/[\\"]/g, (m) => `\\${m}`)}"`;
  return `{${Buffer.byteLength(s)}}\r\n${s}`;
}

/** nstring: NIL or a string. */
export function nstr(s: string | null | undefined, o: EncodeOptions): string {
  return s === null || s === undefined ? 'NIL' : str(s, o);
}

/** astring: an atom when every character allows it (and it is not NIL), else a string. */
export function astr(s: string, o: EncodeOptions): string {
  if (s.length > 0 && s.length < 256 && s.toUpperCase() !== 'NIL') {
    let atom = true;
    for (let i = 0; i < s.length && atom; i++) {
      const c = s.charCodeAt(i);
      atom = isAtomChar(c) || c === 0x5d;
    }
    if (atom) return s;
  }
  return str(s, o);
}

/** A mailbox name on the wire: UTF-8 for IMAP4rev2/UTF8=ACCEPT clients, modified UTF-7 otherwise (RFC 9051 §5.1). */
export function mailboxName(name: string, o: EncodeOptions): string {
  return astr(o.utf8 ? name : encodeMutf7(name), o);
}

/** A parenthesised list of already-encoded items; `()` when empty. */
export function list(items: readonly string[]): string {
  return `(${items.join(' ')})`;
}

/** A literal for raw bytes (message data): header plus the bytes themselves. */
export function literalHeader(bytes: number, binary = false): string {
  return `${binary ? '~' : ''}{${bytes}}\r\n`;
}

/** `tag OK [CODE] text` (RFC 9051 §7.1). */
export function tagged(tag: string, status: 'OK' | 'NO' | 'BAD', text: string, code?: string): string {
  return `${tag} ${status} ${code ? `[${code}] ` : ''}${text}\r\n`;
}

/** `* OK [CODE] text` and other untagged lines (RFC 9051 §7). */
export function untagged(text: string): string {
  return `* ${text}\r\n`;
}

export function untaggedStatus(status: 'OK' | 'NO' | 'BAD' | 'BYE' | 'PREAUTH', text: string, code?: string): string {
  return `* ${status} ${code ? `[${code}] ` : ''}${text}\r\n`;
}

/** A command continuation request (RFC 9051 §7.6): `+ text`, or `+ ` with base64 challenge data. */
export function continuation(text = ''): string {
  return `+ ${text}\r\n`;
}

/** Response text must not contain line breaks or `]` confusion; keep it to one safe line. */
export function safeText(s: string): string {
  return s.replace(/[\r\n\x00]+/g, ' ').slice(0, 400);
}
