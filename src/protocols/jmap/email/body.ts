import { decodeCharset } from '../../../mail/mime/charset.ts';
import { decodeEncodedWords } from '../../../mail/mime/encoded-word.ts';
import { decodeTransfer } from '../../../mail/mime/transfer.ts';
import type { MimePart } from '../../../mail/mime/types.ts';
import type { JsonObject } from '../args.ts';
import { invalidArguments } from '../errors.ts';
import { toBlobId } from '../ids.ts';
import { type HeaderProperty, headerPropertyValue, parseHeaderProperty, rawHeaders } from './headers.ts';

/** EmailBodyPart properties (RFC 8621 §4.1.4). */
export const BODY_PART_PROPERTIES = [
  'partId',
  'blobId',
  'size',
  'headers',
  'name',
  'type',
  'charset',
  'disposition',
  'cid',
  'language',
  'location',
  'subParts',
];
export const DEFAULT_BODY_PROPERTIES = [
  'partId',
  'blobId',
  'size',
  'name',
  'type',
  'charset',
  'disposition',
  'cid',
  'language',
  'location',
];
const KNOWN_BODY = new Set(BODY_PART_PROPERTIES);

/** Validated `bodyProperties` (RFC 8621 §4.2): plain names and `header:` forms. */
export function parseBodyProperties(value: readonly string[] | undefined): { names: string[]; headers: HeaderProperty[] } {
  const list = value ?? DEFAULT_BODY_PROPERTIES;
  const headers: HeaderProperty[] = [];
  const names: string[] = [];
  for (const p of list) {
    const h = parseHeaderProperty(p);
    if (h) headers.push(h);
    else if (KNOWN_BODY.has(p)) names.push(p);
    else throw invalidArguments(`unknown body property ${JSON.stringify(p.slice(0, 100))}`);
  }
  return { names, headers };
}

/** The JMAP `partId` of a leaf: its IMAP part number (`1` for a single-part message). */
export function partIdOf(part: MimePart): string {
  return part.path || '1';
}

function isMultipart(part: MimePart): boolean {
  return part.type === 'multipart' && part.children.length > 0;
}

/** A part's transfer-decoded bytes (unknown encodings are served as they are). */
export function decodedBody(raw: Buffer, part: MimePart): Buffer {
  const body = raw.subarray(part.bodyStart, part.bodyEnd);
  return decodeTransfer(body, part.encoding) ?? Buffer.from(body);
}

/** The decoded size of a leaf (what its blob downloads as). */
export function decodedSize(raw: Buffer, part: MimePart): number {
  if (['7BIT', '8BIT', 'BINARY', ''].includes(part.encoding)) return part.bodyEnd - part.bodyStart;
  return decodedBody(raw, part).length;
}

/** The EmailBodyPart `name` (RFC 8621 §4.1.4): Content-Disposition filename, else Content-Type name, decoded. */
export function fileName(part: MimePart): string | null {
  const name = part.disposition?.params['filename'] ?? part.params['name'];
  return name === undefined ? null : decodeEncodedWords(name);
}

/** The blob id of a leaf part, given its `partId` (parts of attached messages get longer ids). */
export type PartBlobIds = (partId: string) => string;

/** Blob ids for the parts of the stored blob `sha`, or of the attached message at `prefix` in it. */
export function partBlobIds(sha: string, prefix = ''): PartBlobIds {
  return (partId) => toBlobId(sha, prefix ? `${prefix}.${partId}` : partId);
}

/** Builds the EmailBodyPart for a MIME part, recursively for multiparts (RFC 8621 §4.1.4). */
export function bodyPart(
  raw: Buffer,
  blobIds: PartBlobIds,
  part: MimePart,
  props: { names: readonly string[]; headers: readonly HeaderProperty[] },
  withSubParts = true,
): JsonObject {
  const multi = isMultipart(part);
  const out: JsonObject = {};
  const headers = props.headers.length || props.names.includes('headers') ? rawHeaders(raw, part.headerStart, part.bodyStart) : [];
  for (const p of props.names) {
    switch (p) {
      case 'partId':
        out[p] = multi ? null : partIdOf(part);
        break;
      case 'blobId':
        out[p] = multi ? null : blobIds(partIdOf(part));
        break;
      case 'size':
        out[p] = multi ? 0 : decodedSize(raw, part);
        break;
      case 'headers':
        out[p] = headers.map((h) => ({ name: h.name, value: h.value }));
        break;
      case 'name':
        out[p] = fileName(part);
        break;
      case 'type':
        out[p] = `${part.type}/${part.subtype}`;
        break;
      case 'charset':
        out[p] = part.params['charset'] ?? (part.type === 'text' ? 'us-ascii' : null);
        break;
      case 'disposition':
        out[p] = part.disposition?.type.toLowerCase() ?? null;
        break;
      case 'cid':
        out[p] = part.id ? part.id.replace(/^<|>$/g, '') : null;
        break;
      case 'language':
        out[p] = part.language ? [...part.language] : null;
        break;
      case 'location':
        out[p] = part.location;
        break;
      case 'subParts':
        out[p] = multi && withSubParts ? part.children.map((c) => bodyPart(raw, blobIds, c, props)) : null;
        break;
    }
  }
  for (const h of props.headers) out[h.property] = headerPropertyValue(headers, h);
  if (withSubParts && multi && !props.names.includes('subParts'))
    out['subParts'] = part.children.map((c) => bodyPart(raw, blobIds, c, props));
  return out;
}

/** Cuts text to at most `max` UTF-8 octets on a character boundary, and not inside an HTML tag. */
function truncate(value: string, max: number, html: boolean): { value: string; truncated: boolean } {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length <= max) return { value, truncated: false };
  let end = max;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  let out = bytes.subarray(0, end).toString('utf8');
  if (html) {
    // Never end inside a tag or a character reference.
    const lt = out.lastIndexOf('<');
    if (lt > out.lastIndexOf('>')) out = out.slice(0, lt);
    const amp = out.lastIndexOf('&');
    if (amp > out.lastIndexOf(';') && out.length - amp <= 10) out = out.slice(0, amp);
  }
  return { value: out, truncated: true };
}

/** An EmailBodyValue (RFC 8621 §4.1.4): the decoded text of a text/* leaf. */
export function bodyValue(raw: Buffer, part: MimePart, maxBytes: number): JsonObject {
  const body = raw.subarray(part.bodyStart, part.bodyEnd);
  const decoded = decodeTransfer(body, part.encoding);
  const text = decodeCharset(decoded ?? body, part.params['charset']).replace(/\r\n/g, '\n');
  const problem = decoded === null || text.includes('\ufffd');
  const { value, truncated } = maxBytes > 0 ? truncate(text, maxBytes, part.subtype === 'html') : { value: text, truncated: false };
  return { value, isEncodingProblem: problem, isTruncated: truncated };
}

/** Every text/* leaf of the body structure, for `fetchAllBodyValues`. */
export function textParts(root: MimePart): MimePart[] {
  const out: MimePart[] = [];
  const walk = (p: MimePart) => {
    if (isMultipart(p)) for (const c of p.children) walk(c);
    else if (p.type === 'text') out.push(p);
  };
  walk(root);
  return out;
}
