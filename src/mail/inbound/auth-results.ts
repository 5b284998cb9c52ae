/** Byte ranges `[start, end)` of whole header fields (the field with its folded lines and CRLF). */
type Range = readonly [number, number];

/** Skips CFWS (RFC 5322 §3.2.2: whitespace and nested comments) from `i`. */
function skipCfws(s: string, i: number): number {
  let depth = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === '\\' && depth > 0) i += 2;
    else if (c === '(') {
      depth++;
      i++;
    } else if (c === ')' && depth > 0) {
      depth--;
      i++;
    } else if (depth > 0 || c === ' ' || c === '\t' || c === '\r' || c === '\n') i++;
    else break;
  }
  return i;
}

/** The authserv-id of an Authentication-Results value (RFC 8601 §2.2: a token or quoted string), lower-cased. */
export function authservIdOf(value: string): string {
  let i = skipCfws(value, 0);
  if (value[i] === '"') {
    let out = '';
    for (i++; i < value.length && value[i] !== '"'; i++) out += value[i] === '\\' ? (value[++i] ?? '') : value[i];
    return out.toLowerCase();
  }
  const m = /^[^\s;()"]+/.exec(value.slice(i, i + 1024));
  return (m?.[0] ?? '').toLowerCase();
}

/** Where the header section ends (the offset after its last field's CRLF), or the length when no body follows. */
function headerEnd(message: Uint8Array): number {
  const buf = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  if (buf[0] === 0x0d && buf[1] === 0x0a) return 0;
  const blank = buf.indexOf('\r\n\r\n', 0, 'latin1');
  return blank < 0 ? buf.length : blank + 2;
}

/**
 * The Authentication-Results fields whose authserv-id is one of `ids`: a receiver removes them
 * before adding its own, since only it may speak for its id (RFC 8601 §5). Other ids stay.
 */
export function forgedAuthResults(message: Uint8Array, ids: readonly string[]): Range[] {
  const want = new Set(ids.map((id) => id.toLowerCase()));
  return headerFields(message, /authentication-results/, (value) => want.has(authservIdOf(value)));
}

/**
 * The byte ranges of the header fields (RFC 5322 §2.2) whose whole name matches `name` (case
 * ignored) and whose value passes `match`. Candidates are found by one regular-expression scan,
 * so a header section of millions of short lines costs one native search, not a step per line.
 */
export function headerFields(message: Uint8Array, name: RegExp, match: (value: string) => boolean = () => true): Range[] {
  const end = headerEnd(message);
  const head = Buffer.from(message.buffer, message.byteOffset, end).toString('latin1');
  // A field starts a line; a line starting with white space continues the previous field.
  const start = new RegExp(`(?:^|(?<=\r\n))(?:${name.source})[ \t]*:`, 'gi');
  const out: Range[] = [];
  for (let m = start.exec(head); m; m = start.exec(head)) {
    // A field runs to the CRLF not followed by whitespace (RFC 5322 §2.2.3 folding).
    let stop = m.index;
    for (;;) {
      const crlf = head.indexOf('\r\n', stop);
      if (crlf < 0) {
        stop = end;
        break;
      }
      stop = crlf + 2;
      const next = head.charCodeAt(stop);
      if (stop >= end || (next !== 0x20 && next !== 0x09)) break;
    }
    if (match(head.slice(m.index + m[0].length, stop))) out.push([m.index, stop]);
    start.lastIndex = stop;
  }
  return out;
}

/**
 * `prefix` (our trace and result fields), then `message` without the byte ranges `drop`, in one
 * buffer on shared memory (the MIME analyzer's worker reads it without a copy).
 */
export function rebuild(prefix: Buffer, message: Uint8Array, drop: readonly Range[]): Buffer {
  const removed = drop.reduce((n, [a, b]) => n + (b - a), 0);
  const out = Buffer.from(new SharedArrayBuffer(prefix.length + message.length - removed));
  let at = prefix.copy(out, 0);
  let from = 0;
  const src = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  for (const [a, b] of drop) {
    at += src.copy(out, at, from, a);
    from = b;
  }
  src.copy(out, at, from);
  return out;
}
