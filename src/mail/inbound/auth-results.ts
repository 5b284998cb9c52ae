import { headerFields, type Range } from '../mime/header-fields.ts';

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

/**
 * The Authentication-Results fields whose authserv-id is one of `ids`, or unreadable: a receiver
 * removes them before adding its own, since only it may speak for its id (RFC 8601 §5). Other
 * ids stay.
 */
export async function forgedAuthResults(message: Uint8Array, ids: readonly string[]): Promise<Range[]> {
  const want = new Set(ids.map((id) => id.toLowerCase()));
  const found = await headerFields(message, /authentication-results/, (value) => {
    const id = authservIdOf(value);
    return id === '' || want.has(id);
  });
  return found.ranges;
}

/** Bytes copied per turn of the event loop: a fresh 50 MB buffer is mostly page faults. */
const COPY_STEP = 2 * 1024 * 1024;

/**
 * `prefix` (our trace and result fields), then `message` without the byte ranges `drop`, in one
 * buffer on shared memory (the MIME analyzer's worker reads it without a copy). Copied in 2 MiB
 * steps with a turn of the event loop between them.
 */
export async function rebuild(prefix: Buffer, message: Uint8Array, drop: readonly Range[]): Promise<Buffer> {
  const removed = drop.reduce((n, [a, b]) => n + (b - a), 0);
  const out = Buffer.from(new SharedArrayBuffer(prefix.length + message.length - removed));
  let at = prefix.copy(out, 0);
  const src = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  let from = 0;
  for (const [a, b] of [...drop, [src.length, src.length] as const]) {
    for (let i = from; i < a; i += COPY_STEP) {
      if (at > COPY_STEP) await new Promise<void>((resolve) => setImmediate(resolve));
      at += src.copy(out, at, i, Math.min(a, i + COPY_STEP));
    }
    from = b;
  }
  return out;
}
