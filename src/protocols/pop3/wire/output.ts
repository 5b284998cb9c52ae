const CRLF = Buffer.from('\r\n');

/** Normalises line endings to CRLF (stored messages may come from IMAP APPEND with bare LF). */
function crlfLines(raw: Buffer): string {
  return raw.toString('latin1').replace(/\r?\n/g, '\r\n');
}

/**
 * A multi-line response body (RFC 1939 §3): lines starting with `.` get another `.`, the text
 * ends with CRLF and the `.` terminator. Bytes are kept as they are (latin1 round-trip).
 */
export function multiline(text: Buffer | string): Buffer {
  let s = typeof text === 'string' ? text : crlfLines(text);
  if (s.length && !s.endsWith('\r\n')) s += '\r\n';
  s = s.replace(/^\./gm, '..');
  return Buffer.concat([Buffer.from(s, 'latin1'), Buffer.from('.'), CRLF]);
}

/** TOP n m (RFC 1939 §7): the header, the empty line, and the first `lines` lines of the body. */
export function topOf(raw: Buffer, lines: number): Buffer {
  const s = crlfLines(raw);
  const end = s.indexOf('\r\n\r\n');
  if (end < 0) return Buffer.from(s, 'latin1');
  const header = s.slice(0, end + 4);
  const body = s.slice(end + 4);
  if (lines === 0 || !body) return Buffer.from(header, 'latin1');
  const parts = body.split('\r\n');
  const taken = parts.slice(0, lines).join('\r\n');
  return Buffer.from(header + taken + (parts.length > lines ? '\r\n' : ''), 'latin1');
}
