import { parseAddressList } from './address.ts';
import { type HeaderField, headerValue, parseHeaderBlock } from './headers.ts';
import { parseStructured, splitMediaType } from './params.ts';
import type { Envelope, MimePart } from './types.ts';

/**
 * The byte-exact MIME structure parser (RFC 2045, RFC 2046 §5). One pass over the raw bytes;
 * a stack of the enclosing multipart boundaries decides where each part ends, so a part whose
 * own closing delimiter is missing ends at an outer boundary, like Dovecot and Cyrus do. A line
 * is a delimiter when it starts with `--boundary` (longest matching active boundary wins).
 */

/** Deeper nesting or more parts than this are kept as opaque leaves (bounds work and meta size). */
export const MAX_DEPTH = 40;
export const MAX_PARTS = 2_000;

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;
const NL_DASHES = Buffer.from('\n--', 'latin1');

interface Hit {
  /** Index into the boundary stack. */
  readonly index: number;
  readonly close: boolean;
  readonly lineStart: number;
  /** First byte after the delimiter line's line break. */
  readonly next: number;
}

interface Ctx {
  readonly raw: Buffer;
  parts: number;
}

/** A parsed entity with the header fields its caller needs (encapsulated messages build an envelope). */
interface Entity {
  readonly part: MimePart;
  readonly fields: readonly HeaderField[];
  readonly hit: Hit | null;
}

function lineEndOf(raw: Buffer, lineStart: number): { lineEnd: number; next: number } {
  const nl = raw.indexOf(LF, lineStart);
  return nl < 0 ? { lineEnd: raw.length, next: raw.length } : { lineEnd: nl, next: nl + 1 };
}

function matchAt(raw: Buffer, lineStart: number, lineEnd: number, stack: readonly Buffer[]): { index: number; close: boolean } | null {
  if (raw[lineStart] !== DASH || raw[lineStart + 1] !== DASH) return null;
  const avail = lineEnd - lineStart - 2;
  let best = -1;
  for (let i = stack.length - 1; i >= 0; i--) {
    const b = stack[i]!;
    if (b.length > avail || (best >= 0 && b.length <= stack[best]!.length)) continue;
    if (raw.compare(b, 0, b.length, lineStart + 2, lineStart + 2 + b.length) === 0) best = i;
  }
  if (best < 0) return null;
  const after = lineStart + 2 + stack[best]!.length;
  return { index: best, close: raw[after] === DASH && raw[after + 1] === DASH && after + 1 < lineEnd };
}

/** Finds the first delimiter line at or after `from` (a line start). */
function scan(raw: Buffer, from: number, stack: readonly Buffer[]): Hit | null {
  if (stack.length === 0) return null;
  let lineStart = from;
  for (;;) {
    if (lineStart >= raw.length) return null;
    const { lineEnd, next } = lineEndOf(raw, lineStart);
    const m = matchAt(raw, lineStart, lineEnd, stack);
    if (m) return { ...m, lineStart, next };
    const k = raw.indexOf(NL_DASHES, lineStart === from ? from : lineStart);
    if (k < 0) return null;
    lineStart = k + 1;
  }
}

/** Where a body before a delimiter line ends: the line break preceding the delimiter belongs to it (RFC 2046 §5.1.1). */
function endBefore(raw: Buffer, lineStart: number, bodyStart: number): number {
  let e = lineStart;
  if (e > bodyStart && raw[e - 1] === LF) {
    e--;
    if (e > bodyStart && raw[e - 1] === CR) e--;
  }
  return Math.max(bodyStart, e);
}

/**
 * Lines in `[start, end)` (RFC 9051 §7.5.2 body-fld-lines): the line breaks, counted in one pass
 * over the bytes. Text after the last break is no complete line (RFC 5322 §2.1: a line ends with
 * CRLF), so `a\r\nb` is one line, as Dovecot counts it; the CRLF before a boundary is the boundary's.
 */
function countLines(raw: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) if (raw[i] === LF) n++;
  return n;
}

function cleanToken(v: string | null): string | null {
  if (v === null) return null;
  const t = v.replace(/\([^)]*\)/g, '').trim();
  return t === '' ? null : t;
}

/** Builds the IMAP ENVELOPE from a header block (RFC 9051 §7.5.2). */
export function envelopeOf(fields: readonly HeaderField[]): Envelope {
  const from = parseAddressList(headerValue(fields, 'from'));
  const sender = parseAddressList(headerValue(fields, 'sender'));
  const replyTo = parseAddressList(headerValue(fields, 'reply-to'));
  return {
    date: headerValue(fields, 'date'),
    subject: headerValue(fields, 'subject'),
    from,
    sender: sender.length ? sender : from,
    replyTo: replyTo.length ? replyTo : from,
    to: parseAddressList(headerValue(fields, 'to')),
    cc: parseAddressList(headerValue(fields, 'cc')),
    bcc: parseAddressList(headerValue(fields, 'bcc')),
    inReplyTo: headerValue(fields, 'in-reply-to'),
    messageId: headerValue(fields, 'message-id'),
  };
}

function describe(
  fields: readonly HeaderField[],
  defaultType: { type: string; subtype: string },
): Pick<MimePart, 'type' | 'subtype' | 'params' | 'id' | 'description' | 'encoding' | 'md5' | 'disposition' | 'language' | 'location'> {
  const ct = headerValue(fields, 'content-type');
  const parsed = ct === null ? null : parseStructured(ct);
  const media = parsed ? splitMediaType(parsed.value) : null;
  let type = defaultType.type;
  let subtype = defaultType.subtype;
  let params: Record<string, string> = type === 'text' ? { charset: 'us-ascii' } : {};
  if (media && parsed) {
    type = media.type;
    subtype = media.subtype;
    params = parsed.params;
  }
  const cd = headerValue(fields, 'content-disposition');
  const disposition = cd === null ? null : parseStructured(cd);
  const language = headerValue(fields, 'content-language');
  const location = headerValue(fields, 'content-location');
  return {
    type,
    subtype,
    params,
    id: cleanToken(headerValue(fields, 'content-id')),
    description: headerValue(fields, 'content-description'),
    encoding: (cleanToken(headerValue(fields, 'content-transfer-encoding')) ?? '7BIT').toUpperCase(),
    md5: cleanToken(headerValue(fields, 'content-md5')),
    disposition: disposition?.value ? { type: disposition.value, params: disposition.params } : null,
    language: language === null ? null : language.split(/[\s,]+/).filter(Boolean),
    location: location === null ? null : location.replace(/\s+/g, ''),
  };
}

const TEXT_PLAIN = { type: 'text', subtype: 'plain' };
const MESSAGE_RFC822 = { type: 'message', subtype: 'rfc822' };
const IDENTITY_ENCODINGS = new Set(['7BIT', '8BIT', 'BINARY']);

function parseEntity(
  ctx: Ctx,
  start: number,
  path: string,
  defaultType: { type: string; subtype: string },
  stack: readonly Buffer[],
  depth: number,
): Entity {
  const { raw } = ctx;
  ctx.parts++;
  let headerHit: Hit | null = null;
  const header = parseHeaderBlock(
    raw,
    start,
    raw.length,
    stack.length === 0
      ? undefined
      : (ls, le) => {
          const m = matchAt(raw, ls, le, stack);
          if (m) headerHit = { ...m, lineStart: ls, next: lineEndOf(raw, ls).next };
          return m !== null;
        },
  );
  const described = describe(header.fields, defaultType);
  const roomLeft = depth < MAX_DEPTH && ctx.parts < MAX_PARTS;
  // A multipart we cannot split (no boundary, too deep) is shown as text: a leaf may not claim to be multipart.
  const info = described.type === 'multipart' && !(described.params['boundary'] && roomLeft) ? { ...described, ...TEXT_PLAIN } : described;
  const base = { ...info, path, headerStart: start, children: [] as MimePart[], message: null };

  if (headerHit !== null) {
    const hit: Hit = headerHit;
    const at = endBefore(raw, hit.lineStart, start);
    const leaf = info.type === 'multipart' ? TEXT_PLAIN : {};
    return { part: { ...base, ...leaf, bodyStart: at, bodyEnd: at, lines: 0 }, fields: header.fields, hit };
  }
  const bodyStart = header.bodyStart;
  const boundary = info.params['boundary'];

  if (info.type === 'multipart' && boundary) {
    const inner = [...stack, Buffer.from(boundary, 'utf8')];
    const mine = inner.length - 1;
    const children: MimePart[] = [];
    const childDefault = info.subtype === 'digest' ? MESSAGE_RFC822 : TEXT_PLAIN;
    let hit = scan(raw, bodyStart, inner);
    while (hit && hit.index === mine && !hit.close && ctx.parts < MAX_PARTS) {
      const child = parseEntity(
        ctx,
        hit.next,
        path ? `${path}.${children.length + 1}` : `${children.length + 1}`,
        childDefault,
        inner,
        depth + 1,
      );
      children.push(child.part);
      hit = child.hit;
    }
    if (hit && hit.index === mine) hit = scan(raw, hit.next, stack);
    // An empty last part right before the delimiter may end after the line break we strip: never end before a child.
    const bodyEnd = Math.max(hit ? endBefore(raw, hit.lineStart, bodyStart) : raw.length, children.at(-1)?.bodyEnd ?? 0);
    if (children.length === 0) {
      // A multipart without any part: IMAP needs at least one, so show an empty text/plain (as Dovecot does).
      const at = bodyStart;
      children.push({
        ...describe([], TEXT_PLAIN),
        path: path ? `${path}.1` : '1',
        headerStart: at,
        bodyStart: at,
        bodyEnd: at,
        lines: 0,
        children: [],
        message: null,
      });
    }
    const part: MimePart = { ...base, bodyStart, bodyEnd, lines: countLines(raw, bodyStart, bodyEnd), children };
    return { part, fields: header.fields, hit };
  }

  if (
    info.type === 'message' &&
    (info.subtype === 'rfc822' || info.subtype === 'global') &&
    IDENTITY_ENCODINGS.has(info.encoding) &&
    roomLeft
  ) {
    const inner = parseEntity(ctx, bodyStart, path || '1', TEXT_PLAIN, stack, depth + 1);
    let root = inner.part;
    // A message of header fields only (RFC 5322 §3.5: the body is optional) has no blank line of
    // its own; the line break its header block seemed to end with belongs to the delimiter.
    const before = inner.hit ? endBefore(raw, inner.hit.lineStart, bodyStart) : root.bodyEnd;
    if (before < root.bodyEnd && root.children.length === 0) root = { ...root, bodyStart: before, bodyEnd: before, lines: 0 };
    const bodyEnd = root.bodyEnd;
    const message = { envelope: envelopeOf(inner.fields), root };
    const part: MimePart = { ...base, bodyStart, bodyEnd, lines: countLines(raw, bodyStart, bodyEnd), message };
    return { part, fields: header.fields, hit: inner.hit };
  }

  const hit = scan(raw, bodyStart, stack);
  const bodyEnd = hit ? endBefore(raw, hit.lineStart, bodyStart) : raw.length;
  const part: MimePart = { ...base, bodyStart, bodyEnd, lines: countLines(raw, bodyStart, bodyEnd) };
  return { part, fields: header.fields, hit };
}

/** Parses the MIME tree of a raw message (RFC 2045/2046) with absolute byte offsets, and the top-level header. */
export function parseStructure(raw: Buffer): { root: MimePart; fields: readonly HeaderField[] } {
  const ctx: Ctx = { raw, parts: 0 };
  const top = parseEntity(ctx, 0, '', TEXT_PLAIN, [], 0);
  return { root: top.part, fields: top.fields };
}

function stepInto(message: MimePart, n: number): MimePart | null {
  if (message.children.length) return message.children[n - 1] ?? null;
  return n === 1 ? message : null;
}

/**
 * Resolves an IMAP section part number (RFC 9051 §6.4.5) such as [1, 2] to its part: multipart
 * children by position, message/rfc822 parts step into the encapsulated message, and part 1 of a
 * non-multipart message is its root. Null when the section does not exist.
 */
export function partAt(root: MimePart, numbers: readonly number[]): MimePart | null {
  if (numbers.length === 0) return root;
  let cur = stepInto(root, numbers[0]!);
  for (let i = 1; i < numbers.length && cur; i++) {
    const n = numbers[i]!;
    if (cur.children.length) cur = cur.children[n - 1] ?? null;
    else if (cur.message) cur = stepInto(cur.message.root, n);
    else return null;
  }
  return cur;
}
