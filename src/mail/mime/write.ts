import { randomBytes } from 'node:crypto';
import { buildHeaderValue, foldLines } from 'nodemailer/lib/mime-funcs';
import { encodeBase64, encodeQuotedPrintable } from './transfer.ts';

/**
 * A byte-exact MIME writer (RFC 2045, RFC 2046, RFC 5322): each leaf's content is carried in the
 * transfer encoding that keeps it (7bit only when the content already is 7bit lines; otherwise
 * quoted-printable or base64, which decode to exactly the content), and nothing is added to it —
 * the line break before a boundary belongs to the boundary (RFC 2046 §5.1.1), and a single-part
 * message ends where its content ends.
 */

/** A header field: its name and its value in RFC 5322 form (encoded words, quoting), unfolded or folded. */
export type HeaderField = readonly [name: string, value: string];

/** One MIME entity to write. */
export interface MimeEntity {
  /** The media type, `type/subtype`. */
  readonly type: string;
  /** Content-Type parameters (besides `boundary`, which the writer chooses), RFC 2231-encoded as needed. */
  readonly params?: Readonly<Record<string, string>>;
  /** Further header fields of the entity (Content-Disposition, Content-ID, …), written after Content-Type. */
  readonly headers?: readonly HeaderField[];
  /** A leaf's content before transfer encoding, or a multipart's entities. */
  readonly content: Uint8Array | readonly MimeEntity[];
}

const MAX_LINE = 998;

/** True when bytes can go as 7bit: no NUL, no octet above 127, CR and LF only as CRLF, lines of at most 998 octets (RFC 2045 §2.7). */
function is7bit(bytes: Uint8Array): boolean {
  let lineLength = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === 0x0d) {
      if (bytes[i + 1] !== 0x0a) return false;
      i++;
      lineLength = 0;
      continue;
    }
    if (c === 0 || c === 0x0a || c > 0x7f || ++lineLength > MAX_LINE) return false;
  }
  return true;
}

/** True when the lines are CRLF-terminated and short enough for 8bit (RFC 2045 §2.8). */
function is8bit(bytes: Uint8Array): boolean {
  let lineLength = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === 0x0d) {
      if (bytes[i + 1] !== 0x0a) return false;
      i++;
      lineLength = 0;
      continue;
    }
    if (c === 0 || c === 0x0a || ++lineLength > MAX_LINE) return false;
  }
  return true;
}

/** Share of octets quoted-printable would have to escape. */
function escapedShare(bytes: Uint8Array): number {
  if (!bytes.length) return 0;
  let escaped = 0;
  for (const c of bytes) if (c > 0x7e || (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x3d) escaped++;
  return escaped / bytes.length;
}

/**
 * The transfer encoding for a leaf and its encoded body. message/* may only be 7bit, 8bit or
 * binary (RFC 2046 §5.2.1, §5.2.2); text that is mostly ASCII goes quoted-printable so it stays
 * readable; everything else that is not already 7bit goes base64.
 */
export function transferEncode(type: string, content: Uint8Array): { encoding: string; body: Uint8Array } {
  if (is7bit(content)) return { encoding: '7bit', body: content };
  if (type.startsWith('message/') || type.startsWith('multipart/')) return { encoding: is8bit(content) ? '8bit' : 'binary', body: content };
  if (type.startsWith('text/') && escapedShare(content) < 0.17)
    return { encoding: 'quoted-printable', body: encodeQuotedPrintable(content) };
  return { encoding: 'base64', body: encodeBase64(content) };
}

/** A header line, folded at white space to about 78 characters (RFC 5322 §2.1.1, §2.2.3). */
export function headerLine(name: string, value: string): string {
  const line = `${name}: ${value}`;
  return /\r\n/.test(value) ? line : foldLines(line, 76);
}

/** Content-Type (or Content-Disposition) with parameters, RFC 2231-encoded where they need it. */
export function structuredValue(value: string, params: Readonly<Record<string, string>> = {}): string {
  return buildHeaderValue({ value, params: { ...params } });
}

function boundaryFor(children: readonly Uint8Array[]): string {
  // Quoted-printable and base64 output never holds "=_", so only 7bit/8bit content can collide.
  for (;;) {
    const boundary = `=_fp_${randomBytes(12).toString('hex')}`;
    const marker = Buffer.from(`--${boundary}`, 'latin1');
    if (!children.some((c) => Buffer.from(c.buffer, c.byteOffset, c.length).includes(marker))) return boundary;
  }
}

/** Writes an entity: header fields (`extra` first, then Content-Type and the entity's own) and body. */
function writeEntity(entity: MimeEntity, extra: readonly HeaderField[]): Buffer {
  const headers = [...extra];
  let body: Uint8Array;
  if (Array.isArray(entity.content)) {
    const children = (entity.content as readonly MimeEntity[]).map((c) => writeEntity(c, []));
    const boundary = boundaryFor(children);
    headers.push(['Content-Type', structuredValue(entity.type, { ...entity.params, boundary })], ...(entity.headers ?? []));
    const parts: Uint8Array[] = [];
    for (const child of children) parts.push(Buffer.from(`--${boundary}\r\n`, 'latin1'), child, Buffer.from('\r\n', 'latin1'));
    parts.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
    body = Buffer.concat(parts);
  } else {
    const encoded = transferEncode(entity.type, entity.content as Uint8Array);
    headers.push(['Content-Type', structuredValue(entity.type, entity.params)]);
    if (encoded.encoding !== '7bit') headers.push(['Content-Transfer-Encoding', encoded.encoding]);
    headers.push(...(entity.headers ?? []));
    body = encoded.body;
  }
  const head = headers.map(([name, value]) => `${headerLine(name, value)}\r\n`).join('');
  return Buffer.concat([Buffer.from(`${head}\r\n`, 'utf8'), body]);
}

/**
 * Writes a message (RFC 5322 §3.5): `headers` (with Date, Message-ID and the like already in
 * them), `MIME-Version`, then the root entity. The bytes of each leaf decode to its content exactly.
 */
export function writeMessage(headers: readonly HeaderField[], root: MimeEntity): Buffer {
  const hasVersion = headers.some(([name]) => name.toLowerCase() === 'mime-version');
  return writeEntity(root, hasVersion ? headers : [...headers, ['MIME-Version', '1.0']]);
}
