import type { Envelope, EnvelopeAddress, MimePart } from '../../../mail/mime/types.ts';
import { type EncodeOptions, list, nstr, str } from './encoder.ts';

/** ENVELOPE and BODY/BODYSTRUCTURE encoding from the stored MIME structure (RFC 9051 §7.5.2, §9). */

function address(a: EnvelopeAddress, o: EncodeOptions): string {
  return `(${nstr(a.name, o)} ${nstr(a.adl, o)} ${nstr(a.mailbox, o)} ${nstr(a.host, o)})`;
}

function addresses(list: readonly EnvelopeAddress[], o: EncodeOptions): string {
  if (list.length === 0) return 'NIL';
  let out = '(';
  for (const a of list) out += address(a, o);
  return `${out})`;
}

/** `(date subject from sender reply-to to cc bcc in-reply-to message-id)` (RFC 9051 §7.5.2 ENVELOPE). */
export function encodeEnvelope(e: Envelope, o: EncodeOptions): string {
  return `(${nstr(e.date, o)} ${nstr(e.subject, o)} ${addresses(e.from, o)} ${addresses(e.sender, o)} ${addresses(e.replyTo, o)} ${addresses(e.to, o)} ${addresses(e.cc, o)} ${addresses(e.bcc, o)} ${nstr(e.inReplyTo, o)} ${nstr(e.messageId, o)})`;
}

const EMPTY_ENVELOPE = '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)';
const EMPTY_BODY = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)';

/** Percent-encodes a UTF-8 value for an RFC 2231 `name*=utf-8''…` parameter. */
function rfc2231(value: string): string {
  let out = "utf-8''";
  for (const b of Buffer.from(value, 'utf8')) {
    out +=
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2e || b === 0x2d || b === 0x5f
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * body-fld-param: `("name" "value" …)` or NIL. Values were decoded at delivery; for a client
 * without UTF-8 support a non-ASCII value goes out RFC 2231-encoded as `name*`, which mail
 * clients understand, instead of as raw 8-bit.
 */
function params(p: Readonly<Record<string, string>>, o: EncodeOptions): string {
  const entries = Object.entries(p);
  if (entries.length === 0) return 'NIL';
  const items: string[] = [];
  for (const [k, v] of entries) {
    if (!o.utf8 && /[^\x00-\x7f]/.test(v)) items.push(str(`${k}*`, o), str(rfc2231(v), o));
    else items.push(str(k, o), str(v, o));
  }
  return list(items);
}

function disposition(part: MimePart, o: EncodeOptions): string {
  if (!part.disposition) return 'NIL';
  return `(${str(part.disposition.type, o)} ${params(part.disposition.params, o)})`;
}

function language(part: MimePart, o: EncodeOptions): string {
  if (!part.language || part.language.length === 0) return 'NIL';
  if (part.language.length === 1) return str(part.language[0]!, o);
  return list(part.language.map((l) => str(l, o)));
}

/** Extension data shared by both part kinds: disposition, language, location (RFC 9051 §9 body-ext-*). */
function extTail(part: MimePart, o: EncodeOptions): string {
  return `${disposition(part, o)} ${language(part, o)} ${nstr(part.location, o)}`;
}

/**
 * BODYSTRUCTURE (`extended`) or BODY of a part. `text/*` and `message/rfc822` add a line count;
 * a parsed encapsulated message adds its envelope and structure; multiparts list their children.
 */
export function encodeBodyStructure(part: MimePart, extended: boolean, o: EncodeOptions): string {
  if (part.children.length > 0) {
    let out = '(';
    for (const c of part.children) out += encodeBodyStructure(c, extended, o);
    out += ` ${str(part.subtype, o)}`;
    if (extended) out += ` ${params(part.params, o)} ${extTail(part, o)}`;
    return `${out})`;
  }
  const size = part.bodyEnd - part.bodyStart;
  let out = `(${str(part.type, o)} ${str(part.subtype, o)} ${params(part.params, o)} ${nstr(part.id, o)} ${nstr(part.description, o)} ${str(part.encoding, o)} ${size}`;
  if (part.message) {
    out += ` ${encodeEnvelope(part.message.envelope, o)} ${encodeBodyStructure(part.message.root, extended, o)} ${part.lines}`;
  } else if (part.type === 'message' && (part.subtype === 'rfc822' || part.subtype === 'global')) {
    // The grammar needs an envelope and body here even when the message could not be parsed (e.g. base64): send empty ones.
    out += ` ${EMPTY_ENVELOPE} ${EMPTY_BODY} ${part.lines}`;
  } else if (part.type === 'text') {
    out += ` ${part.lines}`;
  }
  if (extended) out += ` ${nstr(part.md5, o)} ${extTail(part, o)}`;
  return `${out})`;
}
