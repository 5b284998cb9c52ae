import { displayAddresses } from './address.ts';
import { parseMailDate } from './date.ts';
import { decodeEncodedWords } from './encoded-word.ts';
import { type HeaderField, headerValue, parseHeaderBlock } from './headers.ts';
import { envelopeOf, parseStructure } from './structure.ts';
import { isInlineText, partText, textLeaves } from './text.ts';
import type { AnalyzedMessage } from '../types.ts';
import type { MimePart, ParsedMessage } from './types.ts';

/** Parsing a raw message into the stored structure (`ParsedMessage`) and its searchable text. */

const PREVIEW_CHARS = 256;
/** Bytes of the encoded body read for a preview. */
const PREVIEW_SCAN = 16 * 1024;
/** Upper bound of body text kept for search per message. */
const SEARCH_BODY_CHARS = 1024 * 1024;

/** Message-ids in a header value (RFC 5322 §3.6.4), without angle brackets. */
export function messageIds(value: string | null): string[] {
  if (!value) return [];
  const ids = [...value.matchAll(/<([^<>\s]+)>/g)].map((m) => m[1]!);
  if (ids.length) return ids;
  return value.split(/[\s,]+/).filter((t) => t.includes('@'));
}

function firstText(root: MimePart, subtype: string): MimePart | null {
  const walk = (p: MimePart): MimePart | null => {
    if (p.children.length) {
      for (const c of p.children) {
        const f = walk(c);
        if (f) return f;
      }
      return null;
    }
    return isInlineText(p) && p.subtype === subtype ? p : null;
  };
  return walk(root);
}

function previewOf(raw: Buffer, root: MimePart): string {
  const part = firstText(root, 'plain') ?? firstText(root, 'html');
  if (!part) return '';
  const text = partText(raw, part, PREVIEW_SCAN)
    .replace(/[\s\0]+/g, ' ')
    .trim();
  return [...text].slice(0, PREVIEW_CHARS).join('');
}

function hasAttachment(root: MimePart): boolean {
  const walk = (p: MimePart): boolean => {
    if (p.disposition?.type === 'attachment') return true;
    if (p.children.length) return p.children.some(walk);
    if (p.message) return true;
    return p.type !== 'text';
  };
  return walk(root);
}

/**
 * The top-level fields `parseMessage` read, for `searchText` on the same bytes right after (the
 * store calls both at delivery): the header block is scanned once, not twice.
 */
const lastTopFields = new WeakMap<Buffer, { readonly root: MimePart; readonly fields: readonly HeaderField[] }>();

/**
 * Parses a raw message (RFC 5322 + MIME) once, at delivery: the MIME tree with byte offsets, the
 * IMAP ENVELOPE, decoded summary fields and the preview. Never throws on malformed input.
 */
export function parseMessage(raw: Buffer): ParsedMessage {
  const { root, fields } = parseStructure(raw);
  lastTopFields.set(raw, { root, fields });
  const envelope = envelopeOf(fields);
  const subject = headerValue(fields, 'subject');
  const messageId = messageIds(headerValue(fields, 'message-id'))[0] ?? null;
  return {
    root,
    envelope,
    subject: subject === null ? '' : decodeEncodedWords(subject),
    sentAt: parseMailDate(headerValue(fields, 'date')),
    messageId,
    inReplyTo: messageIds(headerValue(fields, 'in-reply-to')),
    references: messageIds(headerValue(fields, 'references')),
    from: displayAddresses(envelope.from),
    to: displayAddresses(envelope.to),
    cc: displayAddresses(envelope.cc),
    preview: previewOf(raw, root),
    hasAttachment: hasAttachment(root),
  };
}

/** The header fields of the top-level header block. */
export function topHeaderFields(raw: Buffer, root: MimePart): readonly HeaderField[] {
  const known = lastTopFields.get(raw);
  if (known && known.root.headerStart === root.headerStart && known.root.bodyStart === root.bodyStart) return known.fields;
  return parseHeaderBlock(raw, root.headerStart, root.bodyStart).fields;
}

/**
 * Decoded header text (`name: value` lines, RFC 2047 words decoded) and body text (every text
 * part, HTML stripped) for SEARCH (RFC 9051 §6.4.4) and JMAP Email/query text filters.
 */
export function searchText(raw: Buffer, parsed: ParsedMessage): { headers: string; body: string } {
  const headers = topHeaderFields(raw, parsed.root)
    .map((f) => `${f.name}: ${decodeEncodedWords(f.value)}`)
    .join('\n');
  let body = '';
  for (const leaf of textLeaves(parsed.root)) {
    if (body.length >= SEARCH_BODY_CHARS) break;
    body += `${partText(raw, leaf, SEARCH_BODY_CHARS)}\n`;
  }
  // Search text goes into database text columns, which cannot hold NUL (PostgreSQL).
  return { headers: headers.replace(/\0/g, ' '), body: body.slice(0, SEARCH_BODY_CHARS).replace(/\0/g, ' ') };
}

/** Parsed structure and search text in one call (what delivery stores). */
export function analyzeMessage(raw: Buffer): AnalyzedMessage {
  const parsed = parseMessage(raw);
  return { parsed, text: searchText(raw, parsed) };
}

/** The in-thread parser: `parse` and `searchText` for callers that need them, `analyze` for the mail store (src/mail/types.ts). */
export const mimeParser = {
  parse: parseMessage,
  searchText,
  analyze: async (raw: Buffer): Promise<AnalyzedMessage> => analyzeMessage(raw),
};
