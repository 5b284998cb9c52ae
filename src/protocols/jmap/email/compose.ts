import { encodeWords, isPlainText } from 'nodemailer/lib/mime-funcs';
import MimeNode from 'nodemailer/lib/mime-node';
import { isObject, type JsonObject } from '../args.ts';
import { formatMailDate } from '../../../mail/mime/date.ts';
import { dateOffset, parseDate } from '../dates.ts';
import { invalidProperties, setError } from '../errors.ts';
import type { JsonValue } from '../i-json.ts';
import { type HeaderForm, parseHeaderProperty } from './headers.ts';

/**
 * Builds the RFC 5322 message for Email/set `create` (RFC 8621 §4.6) with nodemailer's MIME
 * builder: header properties become header fields (encoded as needed), the body comes from
 * `bodyStructure` or from `textBody`/`htmlBody`/`attachments`, with contents from `bodyValues`
 * or blobs. Date and Message-ID are added when absent.
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

/** Address objects as nodemailer formats them (a `group` renders as `name: a, b;`). */
type NodeAddress = { name: string; address: string } | { name: string; group: Array<{ name: string; address: string }> };
type NodeValue = string | { prepared: true; value: string } | NodeAddress[];

/** Headers nodemailer always formats itself (no prepared values): they are set once, natively. */
const FORMATTED = new Set(['from', 'sender', 'to', 'cc', 'bcc', 'reply-to', 'date', 'references']);

interface HeaderValue {
  readonly name: string;
  /** Text for nodemailer to encode, an already formatted value, or address objects. */
  readonly value: NodeValue;
}

function fail(property: string, why: string): never {
  throw invalidProperties([property], why);
}

function isEmailAddress(v: unknown): v is { name?: string | null; email: string } {
  return isObject(v) && typeof v['email'] === 'string' && (v['name'] === undefined || v['name'] === null || typeof v['name'] === 'string');
}

function cleanLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

/** A display name as a phrase (RFC 5322 §3.2.5): an atom run, a quoted string, or RFC 2047 words. */
function phrase(name: string): string {
  if (!isPlainText(name)) return encodeWords(name, 'Q', 52);
  return /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+$/.test(name) ? name : `"${name.replace(/["\\]/g, '\\$&')}"`;
}

/** One address (`Name <a@b>` or `a@b`). */
function formatAddress(a: { name?: string | null; email: string }): string {
  const name = cleanLine(a.name ?? '').trim();
  return name ? `${phrase(name)} <${cleanLine(a.email)}>` : cleanLine(a.email);
}

/** Turns a JMAP header value in `form` into a header field value (RFC 8621 §4.1.2 in reverse). */
function headerValue(property: string, name: string, form: HeaderForm, value: JsonValue): HeaderValue['value'] {
  switch (form) {
    case 'Raw':
      if (typeof value !== 'string' || /\r?\n(?![ \t])/.test(value.replace(/\r?\n$/, '')))
        fail(property, 'a Raw value must be a string without bare line breaks');
      return { prepared: true, value: value.trim() };
    case 'Text':
      if (typeof value !== 'string') fail(property, 'expected a string');
      return cleanLine(value);
    case 'Addresses':
      if (!Array.isArray(value) || !value.every(isEmailAddress)) fail(property, 'expected EmailAddress[]');
      return name && FORMATTED.has(name.toLowerCase())
        ? value.map((a) => ({ name: cleanLine(a.name ?? ''), address: cleanLine(a.email) }))
        : { prepared: true, value: value.map(formatAddress).join(', ') };
    case 'GroupedAddresses': {
      if (!Array.isArray(value)) fail(property, 'expected EmailAddressGroup[]');
      for (const g of value) {
        if (!isObject(g) || !Array.isArray(g['addresses']) || !g['addresses'].every(isEmailAddress))
          fail(property, 'expected EmailAddressGroup[]');
      }
      const groups = value as Array<{ name: string | null; addresses: Array<{ name?: string | null; email: string }> }>;
      if (FORMATTED.has(name.toLowerCase())) {
        return groups.flatMap((g): NodeAddress[] => {
          const list = g.addresses.map((a) => ({ name: cleanLine(a.name ?? ''), address: cleanLine(a.email) }));
          return typeof g.name === 'string' ? [{ name: cleanLine(g.name), group: list }] : list;
        });
      }
      const text = groups.map((g) => {
        const list = g.addresses.map(formatAddress);
        return typeof g.name === 'string' ? `${phrase(cleanLine(g.name))}: ${list.join(', ')};` : list.join(', ');
      });
      return { prepared: true, value: text.join(', ') };
    }
    case 'MessageIds':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && /^[^<>\s]+$/.test(v)))
        fail(property, 'expected message ids without angle brackets');
      return { prepared: true, value: (value as string[]).map((v) => `<${v}>`).join(' ') };
    case 'Date': {
      // RFC 8621 §4.1.2.6: the client's own UTC offset stays in the header.
      const ms = parseDate(value, false);
      const offset = dateOffset(value);
      if (ms === undefined || offset === undefined) fail(property, 'expected a Date');
      return { prepared: true, value: formatMailDate(ms, offset) };
    }
    case 'URLs':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) fail(property, 'expected String[]');
      return { prepared: true, value: (value as string[]).map((v) => `<${cleanLine(v)}>`).join(', ') };
  }
  return fail(property, `${name} cannot be set`);
}

/** The header fields given on an Email or body part, with duplicate and forbidden fields refused. */
function collectHeaders(input: JsonObject, scope: 'email' | 'part'): HeaderValue[] {
  const out: HeaderValue[] = [];
  const seen = new Set<string>();
  const add = (property: string, name: string, form: HeaderForm, value: JsonValue, all: boolean) => {
    const key = name.toLowerCase();
    if (seen.has(key)) fail(property, `the ${name} header is given twice`);
    seen.add(key);
    if (key.startsWith('content-')) fail(property, `${name} is derived from the body`);
    if (value === null) return;
    if (all) {
      if (!Array.isArray(value)) fail(property, 'an :all property takes an array');
      if (value.length > 1 && FORMATTED.has(key)) fail(property, `${name} may appear only once`);
      for (const v of value) out.push({ name, value: headerValue(property, name, form, v) });
    } else {
      out.push({ name, value: headerValue(property, name, form, value) });
    }
  };
  for (const [property, value] of Object.entries(input)) {
    if (property === 'headers') fail(property, 'set each header field as its own property');
    const h = parseHeaderProperty(property);
    if (h) {
      const written = property.slice('header:'.length).split(':')[0]!;
      add(property, written, h.form, value, h.all);
    } else if (scope === 'email' && Object.hasOwn(CONVENIENCE, property)) {
      const [name, form] = CONVENIENCE[property]!;
      add(property, name, form, value, false);
    }
  }
  return out;
}

/** Adds a header to a node: nodemailer-formatted ones (addresses, Date, References) natively, once. */
function addHeader(node: MimeNode, h: HeaderValue): void {
  if (FORMATTED.has(h.name.toLowerCase())) {
    const v = h.value;
    node.setHeader(h.name, (typeof v === 'object' && !Array.isArray(v) ? v.value : v) as string);
  } else {
    node.addHeader(h.name, h.value as string);
  }
}

interface BuildContext {
  readonly bodyValues: JsonObject;
  readonly readBlob: BlobReader;
  readonly usedPartIds: Set<string>;
}

async function leafContent(part: JsonObject, ctx: BuildContext, where: string): Promise<{ content: Buffer | string; type: string }> {
  const partId = part['partId'];
  const blobId = part['blobId'];
  if ((partId === undefined || partId === null) === (blobId === undefined || blobId === null))
    fail(where, 'a body part needs exactly one of partId and blobId');
  if (typeof partId === 'string') {
    const bv = ctx.bodyValues[partId];
    if (!isObject(bv) || typeof bv['value'] !== 'string') fail(where, `no bodyValues entry for part ${partId}`);
    if (bv['isTruncated'] === true || bv['isEncodingProblem'] === true)
      fail('bodyValues', 'isTruncated and isEncodingProblem must be false');
    if (ctx.usedPartIds.has(partId)) fail(where, `part ${partId} is used twice`);
    ctx.usedPartIds.add(partId);
    const type = typeof part['type'] === 'string' ? part['type'].toLowerCase() : 'text/plain';
    if (!type.startsWith('text/')) fail(where, 'a part with a partId must be text/*');
    return { content: (bv['value'] as string).replace(/\r?\n/g, '\r\n'), type };
  }
  if (typeof blobId !== 'string') fail(where, 'blobId must be a string');
  const blob = await ctx.readBlob(blobId);
  if (!blob) throw setError('blobNotFound', `blob ${blobId} not found`, { notFound: [blobId] });
  return { content: blob.bytes, type: typeof part['type'] === 'string' ? part['type'].toLowerCase() : blob.type };
}

async function buildPart(node: MimeNode, part: JsonValue, ctx: BuildContext, where: string, depth: number): Promise<void> {
  if (!isObject(part)) fail(where, 'a body part must be an object');
  if (depth > 20) fail(where, 'the body structure is too deep');
  for (const key of Object.keys(part))
    if (!PART_PROPERTIES.has(key) && !key.startsWith('header:')) fail(where, `unknown body part property ${key}`);
  for (const h of collectHeaders(part, 'part')) addHeader(node, h);
  if (typeof part['disposition'] === 'string') node.setHeader('Content-Disposition', cleanLine(part['disposition']));
  if (typeof part['cid'] === 'string') node.setHeader('Content-ID', `<${cleanLine(part['cid'])}>`);
  if (Array.isArray(part['language'])) node.setHeader('Content-Language', (part['language'] as string[]).map(cleanLine).join(', '));
  if (typeof part['location'] === 'string') node.setHeader('Content-Location', cleanLine(part['location']));
  const sub = part['subParts'];
  if (Array.isArray(sub)) {
    for (const [i, child] of sub.entries()) {
      const type = isObject(child) && typeof child['type'] === 'string' ? child['type'].toLowerCase() : 'text/plain';
      await buildPart(node.createChild(type, childOptions(child)), child, ctx, `${where}/subParts/${i}`, depth + 1);
    }
    return;
  }
  const { content } = await leafContent(part, ctx, where);
  node.setContent(content);
}

function childOptions(part: JsonValue): { filename?: string } {
  return isObject(part) && typeof part['name'] === 'string' ? { filename: cleanLine(part['name']) } : {};
}

/** The MIME tree textBody/htmlBody/attachments are assembled into before it is built. */
type Spec =
  | { readonly kind: 'multipart'; readonly subtype: string; readonly children: readonly Spec[] }
  | { readonly kind: 'leaf'; readonly part: JsonValue; readonly where: string; readonly attachment: boolean };

function specType(spec: Spec): string {
  return spec.kind === 'multipart'
    ? `multipart/${spec.subtype}`
    : partType(spec.part, spec.attachment ? 'application/octet-stream' : 'text/plain');
}

function specOptions(spec: Spec): { filename?: string } {
  return spec.kind === 'leaf' ? childOptions(spec.part) : {};
}

async function materialize(node: MimeNode, spec: Spec, ctx: BuildContext): Promise<void> {
  if (spec.kind === 'multipart') {
    for (const child of spec.children) await materialize(node.createChild(specType(child), specOptions(child)), child, ctx);
    return;
  }
  if (spec.attachment && isObject(spec.part) && spec.part['disposition'] === undefined) node.setHeader('Content-Disposition', 'attachment');
  await buildPart(node, spec.part, ctx, spec.where, 1);
}

function partType(part: JsonValue, fallback: string): string {
  return isObject(part) && typeof part['type'] === 'string' ? part['type'].toLowerCase() : fallback;
}

/** Builds the message bytes for a creation (all checks of RFC 8621 §4.6 `create`). */
export async function composeEmail(input: JsonObject, options: { hostname: string; readBlob: BlobReader; now: number }): Promise<Buffer> {
  for (const key of Object.keys(input)) {
    if (!META.has(key) && !BODY.has(key) && !Object.hasOwn(CONVENIENCE, key) && !key.startsWith('header:'))
      fail(key, `${key} cannot be set on creation`);
  }
  const headers = collectHeaders(input, 'email');
  const bodyValues = input['bodyValues'] ?? {};
  if (!isObject(bodyValues)) fail('bodyValues', 'expected an object');
  const ctx: BuildContext = { bodyValues: { ...bodyValues }, readBlob: options.readBlob, usedPartIds: new Set() };
  const structure = input['bodyStructure'];
  const textBody = input['textBody'];
  const htmlBody = input['htmlBody'];
  const attachments = input['attachments'];

  let root: MimeNode;
  if (structure !== undefined && structure !== null) {
    if (textBody !== undefined || htmlBody !== undefined || attachments !== undefined)
      fail('bodyStructure', 'give bodyStructure or textBody/htmlBody/attachments, not both');
    root = new MimeNode(partType(structure, 'text/plain'), {
      keepBcc: true,
      hostname: options.hostname,
      newline: '\r\n',
      ...childOptions(structure),
    });
    await buildPart(root, structure, ctx, 'bodyStructure', 0);
  } else {
    const single = (value: JsonValue | undefined, property: string, type: string): JsonObject | undefined => {
      if (value === undefined || value === null) return undefined;
      if (!Array.isArray(value) || value.length !== 1 || !isObject(value[0])) fail(property, `${property} must hold exactly one part`);
      if (partType(value[0], type) !== type) fail(property, `${property} must be ${type}`);
      return { ...(value[0] as JsonObject), type };
    };
    const text = single(textBody, 'textBody', 'text/plain');
    const html = single(htmlBody, 'htmlBody', 'text/html');
    if (attachments !== undefined && attachments !== null && !Array.isArray(attachments)) fail('attachments', 'expected an array');
    const files = ((attachments as JsonValue[] | undefined) ?? []).map(
      (f, i): Spec => ({ kind: 'leaf', part: f, where: `attachments/${i}`, attachment: true }),
    );
    // Inline parts with a Content-ID belong next to the HTML they are shown in (multipart/related).
    const isInline = (f: Spec) =>
      f.kind === 'leaf' && isObject(f.part) && f.part['disposition'] === 'inline' && typeof f.part['cid'] === 'string';
    const inline = html ? files.filter(isInline) : [];
    const mixed = files.filter((f) => !inline.includes(f));
    const textSpec: Spec | null = text ? { kind: 'leaf', part: text, where: 'textBody', attachment: false } : null;
    const htmlLeaf: Spec | null = html ? { kind: 'leaf', part: html, where: 'htmlBody', attachment: false } : null;
    const htmlSpec: Spec | null =
      htmlLeaf && inline.length ? { kind: 'multipart', subtype: 'related', children: [htmlLeaf, ...inline] } : htmlLeaf;
    if (!textSpec && !htmlSpec) ctx.bodyValues['\u0000empty'] = { value: '' };
    const alternatives = [textSpec, htmlSpec].filter((x): x is Spec => x !== null);
    const body: Spec =
      alternatives.length === 2
        ? { kind: 'multipart', subtype: 'alternative', children: alternatives }
        : (alternatives[0] ?? { kind: 'leaf', part: { partId: '\u0000empty', type: 'text/plain' }, where: 'textBody', attachment: false });
    const tree: Spec = mixed.length ? { kind: 'multipart', subtype: 'mixed', children: [body, ...mixed] } : body;
    root = new MimeNode(specType(tree), { keepBcc: true, hostname: options.hostname, newline: '\r\n', ...specOptions(tree) });
    await materialize(root, tree, ctx);
  }
  for (const h of headers) addHeader(root, h);
  // RFC 8621 §4.6: the server MUST add a Date when the client gave none (RFC 5322 §3.6.1).
  if (!headers.some((h) => h.name.toLowerCase() === 'date')) root.setHeader('Date', formatMailDate(options.now));
  return root.build();
}
