import type { ParsedMessage } from '../../../mail/mime/types.ts';
import type { StoredMessage } from '../../../mail/types.ts';
import type { JsonObject } from '../args.ts';
import { offsetDate, utcDate } from '../dates.ts';
import type { JsonValue } from '../i-json.ts';
import { toBlobId, toId } from '../ids.ts';
import { bodyPart, bodyValue, type PartBlobIds, partBlobIds, type parseBodyProperties, textParts } from './body.ts';
import { bodyLists } from './body-lists.ts';
import { type HeaderProperty, headerPropertyValue, type RawHeader, rawHeaders } from './headers.ts';

/** The default `properties` of Email/parse (RFC 8621 §4.9): what a message says about itself. */
export const DEFAULT_PARSE_PROPERTIES = [
  'messageId',
  'inReplyTo',
  'references',
  'sender',
  'from',
  'to',
  'cc',
  'bcc',
  'replyTo',
  'subject',
  'sentAt',
  'hasAttachment',
  'preview',
  'bodyValues',
  'textBody',
  'htmlBody',
  'attachments',
];

/** The default `properties` of Email/get (RFC 8621 §4.2): the stored Email's own, then the message's. */
export const DEFAULT_EMAIL_PROPERTIES = [
  'id',
  'blobId',
  'threadId',
  'mailboxIds',
  'keywords',
  'size',
  'receivedAt',
  ...DEFAULT_PARSE_PROPERTIES,
];

/** Every Email property (RFC 8621 §4.1): the defaults plus the two only sent when asked for. */
export const EMAIL_PROPERTIES = [...DEFAULT_EMAIL_PROPERTIES, 'headers', 'bodyStructure'];

/** Properties that need the whole raw message. */
const NEEDS_RAW = new Set(['bodyStructure', 'bodyValues', 'textBody', 'htmlBody', 'attachments']);
/** Properties that need the top-level header block. */
const NEEDS_HEADERS = new Set(['headers', 'sender', 'replyTo', 'bcc']);

/** What Email/get was asked for, parsed once per call. */
export interface EmailRequest {
  readonly properties: readonly string[];
  readonly headerProperties: readonly HeaderProperty[];
  readonly body: ReturnType<typeof parseBodyProperties>;
  readonly fetchTextBodyValues: boolean;
  readonly fetchHTMLBodyValues: boolean;
  readonly fetchAllBodyValues: boolean;
  readonly maxBodyValueBytes: number;
}

/** True when building these properties reads the raw message. */
export function needsRaw(req: EmailRequest): boolean {
  return req.properties.some((p) => NEEDS_RAW.has(p));
}

/** True when building these properties reads the header block (cheaper than the raw message). */
export function needsHeaders(req: EmailRequest): boolean {
  return req.headerProperties.length > 0 || req.properties.some((p) => NEEDS_HEADERS.has(p));
}

/** The offset in minutes of a `Date:` header (`+0200` → 120), for `sentAt`. */
function dateOffset(header: string | null): number {
  const m = header ? /([+-])(\d{2})(\d{2})\s*(?:\([^)]*\))?\s*$/.exec(header) : null;
  if (!m) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' ? -minutes : minutes;
}

function addresses(list: ParsedMessage['from']): JsonValue {
  return list.length ? list.map((a) => ({ name: a.name || null, email: a.email })) : null;
}

function lastHeader(headers: readonly RawHeader[], name: string): JsonValue {
  return headerPropertyValue(headers, { property: '', name, form: 'Addresses', all: false });
}

/**
 * Builds one Email object (RFC 8621 §4.1) from the stored message: metadata and summary fields
 * from the stored structure; `raw` (or just its header block) only when asked for.
 */
export function emailObject(
  message: StoredMessage,
  mailboxIds: readonly number[],
  req: EmailRequest,
  raw: Buffer | undefined,
  headerBlock: Buffer | undefined,
  blobIds: PartBlobIds = partBlobIds(message.blobId),
): JsonObject {
  const meta = message.meta;
  const out: JsonObject = {};
  const headers = raw || headerBlock ? rawHeaders((raw ?? headerBlock)!, meta.root.headerStart, meta.root.bodyStart) : [];
  const lists =
    raw && req.properties.some((p) => p === 'textBody' || p === 'htmlBody' || p === 'attachments' || p === 'bodyValues')
      ? bodyLists(meta.root)
      : undefined;
  for (const p of req.properties) {
    switch (p) {
      case 'id':
        out[p] = toId('email', message.id);
        break;
      case 'blobId':
        out[p] = toBlobId(message.blobId);
        break;
      case 'threadId':
        out[p] = toId('thread', message.threadId);
        break;
      case 'mailboxIds':
        out[p] = Object.fromEntries(mailboxIds.map((m) => [toId('mailbox', m), true]));
        break;
      case 'keywords':
        out[p] = Object.fromEntries(message.keywords.map((k) => [k, true]));
        break;
      case 'size':
        out[p] = message.size;
        break;
      case 'receivedAt':
        out[p] = utcDate(message.receivedAt);
        break;
      case 'headers':
        out[p] = headers.map((h) => ({ name: h.name, value: h.value }));
        break;
      case 'messageId':
        out[p] = meta.messageId ? [meta.messageId] : null;
        break;
      case 'inReplyTo':
        out[p] = meta.inReplyTo.length ? [...meta.inReplyTo] : null;
        break;
      case 'references':
        out[p] = meta.references.length ? [...meta.references] : null;
        break;
      case 'from':
      case 'to':
      case 'cc':
        out[p] = addresses(meta[p]);
        break;
      case 'sender':
        out[p] = lastHeader(headers, 'sender');
        break;
      case 'replyTo':
        out[p] = lastHeader(headers, 'reply-to');
        break;
      case 'bcc':
        out[p] = lastHeader(headers, 'bcc');
        break;
      case 'subject':
        out[p] = meta.envelope.subject === null ? null : meta.subject;
        break;
      case 'sentAt':
        out[p] = meta.sentAt === null ? null : offsetDate(meta.sentAt, dateOffset(meta.envelope.date));
        break;
      case 'hasAttachment':
        out[p] = meta.hasAttachment;
        break;
      case 'preview':
        out[p] = meta.preview;
        break;
      case 'bodyStructure':
        if (raw) out[p] = bodyPart(raw, blobIds, meta.root, req.body);
        break;
      case 'textBody':
      case 'htmlBody':
      case 'attachments':
        if (raw && lists) out[p] = lists[p].map((part) => bodyPart(raw, blobIds, part, req.body, false));
        break;
      case 'bodyValues': {
        if (!raw || !lists) break;
        const parts = new Map<string, (typeof lists.textBody)[number]>();
        if (req.fetchAllBodyValues) for (const t of textParts(meta.root)) parts.set(t.path || '1', t);
        if (req.fetchTextBodyValues) for (const t of lists.textBody) if (t.type === 'text') parts.set(t.path || '1', t);
        if (req.fetchHTMLBodyValues) for (const t of lists.htmlBody) if (t.type === 'text') parts.set(t.path || '1', t);
        out[p] = Object.fromEntries([...parts].map(([id, part]) => [id, bodyValue(raw, part, req.maxBodyValueBytes)]));
        break;
      }
    }
  }
  for (const h of req.headerProperties) out[h.property] = headerPropertyValue(headers, h);
  return out;
}
