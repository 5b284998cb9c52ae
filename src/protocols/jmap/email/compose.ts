import { randomUUID } from 'node:crypto';
import { domainToASCII } from 'node:url';
import { encodeWords, isPlainText } from 'nodemailer/lib/mime-funcs';
import { formatMailDate } from '../../../mail/mime/date.ts';
import { type HeaderField, type MimeEntity, structuredValue, writeMessage } from '../../../mail/mime/write.ts';
import { isObject, type JsonObject } from '../args.ts';
import { dateOffset, parseDate } from '../dates.ts';
import { invalidProperties, PropertyProblems } from '../errors.ts';
import type { JsonValue } from '../i-json.ts';
import { type HeaderForm, parseHeaderProperty } from './headers.ts';

/**
 * Builds the RFC 5322 message for Email/set `create` (RFC 8621 §4.6): header properties become
 * header fields (encoded as needed), the body comes from `bodyStructure` or from
 * `textBody`/`htmlBody`/`attachments`, with contents from `bodyValues` or blobs. The MIME writer
 * (mail/mime/write.ts) keeps every blob's bytes and every body value's text exactly. Date and
 * Message-ID are added when absent.
 */

/** Reads an uploaded or stored blob of the account; undefined when it is not there. */
export type BlobReader = (blobId: string) => Promise<{ bytes: Buffer; type: string } | undefined>;

/** Email properties a creation may carry besides headers and body. */
const META = new Set(['mailboxIds', 'keywords', 'receivedAt']);
/** Convenience header properties and the header field and form they stand for. */
const CONVENIENCE: Readonly<Record<string, [string, HeaderForm]>> = {
  messageId: ['Message-ID', 'MessageIds'],
  inReplyTo: ['In-Reply-To', 'MessageIds'],
  references: ['References', 'MessageIds'],
  sender: ['Sender', 'Addresses'],
  from: ['From', 'Addresses'],
  to: ['To', 'Addresses'],
  cc: ['Cc', 'Addresses'],
  bcc: ['Bcc', 'Addresses'],
  replyTo: ['Reply-To', 'Addresses'],
  subject: ['Subject', 'Text'],
  sentAt: ['Date', 'Date'],
};
const BODY = new Set(['bodyStructure', 'bodyValues', 'textBody', 'htmlBody', 'attachments']);
const PART_PROPERTIES = new Set([
  'partId',
  'blobId',
  'size',
  'type',
  'charset',
  'disposition',
  'name',
  'cid',
  'language',
  'location',
  'subParts',
]);
const optionalString = (v: JsonValue) => v === null || typeof v === 'string';
/** The type each EmailBodyPart property must have on creation (RFC 8621 §4.1.4); header properties are checked as headers. */
const PART_TYPES: Readonly<Record<string, (v: JsonValue) => boolean>> = {
  partId: optionalString,
  blobId: optionalString,
  size: (v) => v === null || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0),
  type: optionalString,
  charset: optionalString,
  disposition: optionalString,
  name: optionalString,
  cid: optionalString,
  language: (v) => v === null || (Array.isArray(v) && v.every((x) => typeof x === 'string')),
  location: optionalString,
  subParts: (v) => v === null || Array.isArray(v),
};
/** Header fields RFC 5322 §3.6 allows once: an `:all` property may not give several. */
const SINGLE = new Set(['from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'date', 'message-id', 'in-reply-to', 'references', 'subject']);

function fail(property: string, why: string): never {
  throw invalidProperties([property], why);
}

function isEmailAddress(v: unknown): v is { name?: string | null; email: string } {
  return isObject(v) && typeof v['email'] === 'string' && (v['name'] === undefined || v['name'] === null || typeof v['name'] === 'string');
}

function cleanLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

/** Unstructured text (RFC 5322 §3.2.5), with RFC 2047 encoded words for what is not ASCII. */
function text(value: string): string {
  const line = cleanLine(value);
  return isPlainText(line) ? line : encodeWords(line, 'Q', 52);
}

/** A display name as a phrase (RFC 5322 §3.2.5): an atom run, a quoted string, or RFC 2047 words. */
function phrase(name: string): string {
  if (!isPlainText(name)) return encodeWords(name, 'Q', 52);
  return /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+$/.test(name) ? name : `"${name.replace(/["\\]/g, '\\$&')}"`;
}

/** An addr-spec with an internationalised domain in its ASCII form (RFC 5890); the local part as given (RFC 6532). */
function addrSpec(email: string): string {
  const clean = cleanLine(email).trim();
  const at = clean.lastIndexOf('@');
  if (at < 0 || isPlainText(clean.slice(at + 1))) return clean;
  return `${clean.slice(0, at + 1)}${domainToASCII(clean.slice(at + 1)) || clean.slice(at + 1)}`;
}

/** One address (`Name <a@b>` or `a@b`). */
function formatAddress(a: { name?: string | null; email: string }): string {
  const name = cleanLine(a.name ?? '').trim();
  return name ? `${phrase(name)} <${addrSpec(a.email)}>` : addrSpec(a.email);
}

/** Turns a JMAP header value in `form` into a header field value (RFC 8621 §4.1.2 in reverse). */
function headerValue(property: string, form: HeaderForm, value: JsonValue): string {
  switch (form) {
    case 'Raw':
      if (typeof value !== 'string' || /\r?\n(?![ \t])/.test(value.replace(/\r?\n$/, '')))
        fail(property, 'a Raw value must be a string without bare line breaks');
      return value.replace(/\r?\n$/, '').replace(/^[ \t]+/, '');
    case 'Text':
      if (typeof value !== 'string') fail(property, 'expected a string');
      return text(value);
    case 'Addresses':
      if (!Array.isArray(value) || !value.every(isEmailAddress)) fail(property, 'expected EmailAddress[]');
      return value.map(formatAddress).join(', ');
    case 'GroupedAddresses': {
      if (!Array.isArray(value)) fail(property, 'expected EmailAddressGroup[]');
      for (const g of value) {
        if (!isObject(g) || !Array.isArray(g['addresses']) || !g['addresses'].every(isEmailAddress))
          fail(property, 'expected EmailAddressGroup[]');
      }
      const groups = value as Array<{ name: string | null; addresses: Array<{ name?: string | null; email: string }> }>;
      return groups
        .map((g) => {
          const list = g.addresses.map(formatAddress);
          return typeof g.name === 'string' ? `${phrase(cleanLine(g.name))}: ${list.join(', ')};` : list.join(', ');
        })
        .join(', ');
    }
    case 'MessageIds':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && /^[^<>\s]+$/.test(v)))
        fail(property, 'expected message ids without angle brackets');
      return (value as string[]).map((v) => `<${v}>`).join(' ');
    case 'Date': {
      // RFC 8621 §4.1.2.6: the client's own UTC offset stays in the header.
      const ms = parseDate(value, false);
      const offset = dateOffset(value);
      if (ms === undefined || offset === undefined) fail(property, 'expected a Date');
      return formatMailDate(ms, offset);
    }
    case 'URLs':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) fail(property, 'expected String[]');
      return (value as string[]).map((v) => `<${cleanLine(v)}>`).join(', ');
  }
  return fail(property, `${property} cannot be set`);
}

/** The header fields given on an Email or body part, with duplicate and forbidden fields refused. */
function collectHeaders(input: JsonObject, scope: 'email' | 'part', problems: PropertyProblems): HeaderField[] {
  const out: HeaderField[] = [];
  const seen = new Set<string>();
  const add = (property: string, name: string, form: HeaderForm, value: JsonValue, all: boolean) => {
    const key = name.toLowerCase();
    if (seen.has(key)) fail(property, `the ${name} header is given twice`);
    seen.add(key);
    if (key.startsWith('content-')) fail(property, `${name} is derived from the body`);
    if (value === null) return;
    if (all) {
      if (!Array.isArray(value)) fail(property, 'an :all property takes an array');
      if (value.length > 1 && SINGLE.has(key)) fail(property, `${name} may appear only once`);
      for (const v of value) out.push([name, headerValue(property, form, v)]);
    } else {
      out.push([name, headerValue(property, form, value)]);
    }
  };
  for (const [property, value] of Object.entries(input)) {
    if (property === 'headers') {
      problems.add([property], 'set each header field as its own property');
      continue;
    }
    const h = problems.check(() => parseHeaderProperty(property), undefined);
    if (h) {
      const written = property.slice('header:'.length).split(':')[0]!;
      problems.check(() => add(property, written, h.form, value, h.all), undefined);
    } else if (scope === 'email' && Object.hasOwn(CONVENIENCE, property)) {
      const [name, form] = CONVENIENCE[property]!;
      problems.check(() => add(property, name, form, value, false), undefined);
    }
  }
  return out;
}

interface BuildContext {
  readonly bodyValues: JsonObject;
  readonly readBlob: BlobReader;
  readonly usedPartIds: Set<string>;
  readonly problems: PropertyProblems;
}

/** What an invalid part is built as while the other parts are still checked. */
const PLACEHOLDER: MimeEntity = { type: 'text/plain', content: Buffer.alloc(0) };

/** A leaf's content: a body value's text (line breaks as CRLF, UTF-8) or a blob's bytes as they are. */
async function leafContent(
  part: JsonObject,
  ctx: BuildContext,
  where: string,
): Promise<{ content: Buffer; type: string; fromText: boolean }> {
  const partId = part['partId'];
  const blobId = part['blobId'];
  if ((partId === undefined || partId === null) === (blobId === undefined || blobId === null))
    fail(where, 'a body part needs exactly one of partId and blobId');
  if (typeof partId === 'string') {
    // RFC 8621 §4.6: with a partId the server chooses the encoding; size and charset must be left out.
    for (const p of ['size', 'charset']) if (part[p] !== undefined && part[p] !== null) fail(where, `${p} may not be given with a partId`);
    const bv = ctx.bodyValues[partId];
    if (!isObject(bv) || typeof bv['value'] !== 'string') fail(where, `no bodyValues entry for part ${partId}`);
    if (bv['isTruncated'] === true || bv['isEncodingProblem'] === true)
      fail('bodyValues', 'isTruncated and isEncodingProblem must be false');
    if (ctx.usedPartIds.has(partId)) fail(where, `part ${partId} is used twice`);
    ctx.usedPartIds.add(partId);
    const type = typeof part['type'] === 'string' ? part['type'].toLowerCase() : 'text/plain';
    if (!type.startsWith('text/')) fail(where, 'a part with a partId must be text/*');
    // EmailBodyValue text has LF line breaks (RFC 8621 §4.1.4); a message has CRLF.
    return { content: Buffer.from((bv['value'] as string).replace(/\r?\n/g, '\r\n'), 'utf8'), type, fromText: true };
  }
  if (typeof blobId !== 'string') fail(where, 'blobId must be a string');
  const blob = await ctx.readBlob(blobId);
  if (!blob) {
    ctx.problems.missingBlob(blobId);
    return { content: Buffer.alloc(0), type: 'application/octet-stream', fromText: false };
  }
  return { content: blob.bytes, type: typeof part['type'] === 'string' ? part['type'].toLowerCase() : blob.type, fromText: false };
}

function isMediaType(type: string): boolean {
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(type);
}

/** Builds one EmailBodyPart (RFC 8621 §4.1.4) into a MIME entity, recursively. */
async function buildPart(part: JsonValue, ctx: BuildContext, where: string, depth: number, attachment = false): Promise<MimeEntity> {
  const { problems } = ctx;
  if (!isObject(part) || depth > 20) {
    problems.add([where], isObject(part) ? 'the body structure is too deep' : 'a body part must be an object');
    return PLACEHOLDER;
  }
  let wrongType = false;
  for (const [key, value] of Object.entries(part)) {
    if (!PART_PROPERTIES.has(key) && !key.startsWith('header:')) problems.add([where], `unknown body part property ${key}`);
    else if (Object.hasOwn(PART_TYPES, key) && !PART_TYPES[key]!(value)) {
      problems.add([where], `${key} has the wrong type`);
      wrongType = true;
    }
  }
  const headers = collectHeaders(part, 'part', problems);
  if (wrongType) return PLACEHOLDER;
  const name = typeof part['name'] === 'string' ? cleanLine(part['name']) : undefined;
  const disposition = typeof part['disposition'] === 'string' ? cleanLine(part['disposition']).toLowerCase() : undefined;
  const contentHeaders: HeaderField[] = [];
  const dispositionType = disposition ?? (attachment || name !== undefined ? 'attachment' : undefined);
  if (dispositionType)
    contentHeaders.push(['Content-Disposition', structuredValue(dispositionType, name === undefined ? {} : { filename: name })]);
  if (typeof part['cid'] === 'string') contentHeaders.push(['Content-ID', `<${cleanLine(part['cid'])}>`]);
  if (Array.isArray(part['language'])) contentHeaders.push(['Content-Language', (part['language'] as string[]).map(cleanLine).join(', ')]);
  if (typeof part['location'] === 'string') contentHeaders.push(['Content-Location', cleanLine(part['location'])]);
  const params: Record<string, string> = {};
  if (name !== undefined) params['name'] = name;

  const sub = part['subParts'];
  if (sub !== undefined && sub !== null) {
    const type = typeof part['type'] === 'string' ? part['type'].toLowerCase() : 'multipart/mixed';
    if (!Array.isArray(sub) || !type.startsWith('multipart/') || !isMediaType(type)) {
      problems.add([where], 'subParts need a multipart/* type');
      return PLACEHOLDER;
    }
    const children: MimeEntity[] = [];
    for (const [i, child] of sub.entries()) children.push(await buildPart(child, ctx, `${where}/subParts/${i}`, depth + 1));
    return { type, params, headers: [...contentHeaders, ...headers], content: children };
  }
  const leaf = await problems.checkAsync(() => leafContent(part, ctx, where), undefined);
  if (!leaf) return PLACEHOLDER;
  if (!isMediaType(leaf.type) || leaf.type.startsWith('multipart/')) {
    problems.add([where], `${leaf.type} is not a media type for a leaf`);
    return PLACEHOLDER;
  }
  if (leaf.fromText) params['charset'] = 'utf-8';
  else if (typeof part['charset'] === 'string' && leaf.type.startsWith('text/')) params['charset'] = cleanLine(part['charset']);
  return { type: leaf.type, params, headers: [...contentHeaders, ...headers], content: leaf.content };
}

function partType(part: JsonValue, fallback: string): string {
  return isObject(part) && typeof part['type'] === 'string' ? part['type'].toLowerCase() : fallback;
}

/**
 * The tree for `textBody`/`htmlBody`/`attachments` (RFC 8621 §4.6): text and HTML as a
 * multipart/alternative, inline parts with a Content-ID beside the HTML in a multipart/related,
 * the other attachments with the body in a multipart/mixed.
 */
async function flatBody(input: JsonObject, ctx: BuildContext): Promise<MimeEntity> {
  const single = (property: string, type: string): JsonObject | undefined => {
    const value = input[property];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || value.length !== 1 || !isObject(value[0])) fail(property, `${property} must hold exactly one part`);
    if (partType(value[0], type) !== type) fail(property, `${property} must be ${type}`);
    return { ...(value[0] as JsonObject), type };
  };
  const { problems } = ctx;
  const textPart = problems.check(() => single('textBody', 'text/plain'), undefined);
  const htmlPart = problems.check(() => single('htmlBody', 'text/html'), undefined);
  const attachments = input['attachments'];
  const files: JsonValue[] = Array.isArray(attachments) ? attachments : [];
  if (attachments !== undefined && attachments !== null && !Array.isArray(attachments)) problems.add(['attachments'], 'expected an array');
  const isInline = (f: JsonValue) => isObject(f) && f['disposition'] === 'inline' && typeof f['cid'] === 'string';
  const text = textPart ? await buildPart(textPart, ctx, 'textBody', 1) : undefined;
  const htmlLeaf = htmlPart ? await buildPart(htmlPart, ctx, 'htmlBody', 1) : undefined;
  const inline: MimeEntity[] = [];
  const mixed: MimeEntity[] = [];
  for (const [i, f] of files.entries()) {
    const entity = await buildPart(f, ctx, `attachments/${i}`, 1, !isInline(f));
    (htmlPart && isInline(f) ? inline : mixed).push(entity);
  }
  const html = htmlLeaf && inline.length ? { type: 'multipart/related', content: [htmlLeaf, ...inline] } : htmlLeaf;
  const alternatives = [text, html].filter((x): x is MimeEntity => x !== undefined);
  const body: MimeEntity =
    alternatives.length === 2
      ? { type: 'multipart/alternative', content: alternatives }
      : (alternatives[0] ?? { type: 'text/plain', params: { charset: 'utf-8' }, content: Buffer.alloc(0) });
  return mixed.length ? { type: 'multipart/mixed', content: [body, ...mixed] } : body;
}

/**
 * Builds the message bytes for a creation (all checks of RFC 8621 §4.6 `create`). Every invalid
 * property and missing blob is recorded in `problems`; the caller throws them before storing.
 */
export async function composeEmail(
  input: JsonObject,
  options: { hostname: string; readBlob: BlobReader; now: number; problems: PropertyProblems },
): Promise<Buffer> {
  const { problems } = options;
  for (const key of Object.keys(input)) {
    if (!META.has(key) && !BODY.has(key) && !Object.hasOwn(CONVENIENCE, key) && !key.startsWith('header:'))
      problems.add([key], `${key} cannot be set on creation`);
  }
  const headers = collectHeaders(input, 'email', problems);
  let bodyValues = input['bodyValues'] ?? {};
  if (!isObject(bodyValues)) {
    problems.add(['bodyValues'], 'expected an object');
    bodyValues = {};
  }
  const ctx: BuildContext = { bodyValues, readBlob: options.readBlob, usedPartIds: new Set(), problems };
  const structure = input['bodyStructure'];
  let root: MimeEntity;
  if (structure !== undefined && structure !== null) {
    if (input['textBody'] !== undefined || input['htmlBody'] !== undefined || input['attachments'] !== undefined)
      problems.add(['bodyStructure'], 'give bodyStructure or textBody/htmlBody/attachments, not both');
    // RFC 8621 §4.6: the root part may not repeat a header field the Email sets.
    const names = new Set(headers.map(([n]) => n.toLowerCase()));
    if (isObject(structure) && collectHeaders(structure, 'part', new PropertyProblems()).some(([n]) => names.has(n.toLowerCase())))
      problems.add(['bodyStructure'], 'a header field is given on both the Email and its bodyStructure');
    root = await buildPart(structure, ctx, 'bodyStructure', 0);
  } else {
    root = await flatBody(input, ctx);
  }
  const has = (name: string) => headers.some(([n]) => n.toLowerCase() === name);
  // RFC 8621 §4.6: the server MUST add a Date and a Message-ID when the client gave none (RFC 5322 §3.6.1, §3.6.4).
  const added: HeaderField[] = [];
  if (!has('date')) added.push(['Date', formatMailDate(options.now)]);
  if (!has('message-id')) added.push(['Message-ID', `<${randomUUID()}@${options.hostname}>`]);
  return writeMessage([...headers, ...added], root);
}
