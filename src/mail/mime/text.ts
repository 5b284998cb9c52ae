import { decodeCharset } from './charset.ts';
import { decodeTransfer } from './transfer.ts';
import type { MimePart } from './types.ts';

/** Text extraction for previews and search (RFC 9051 §6.4.4 BODY/TEXT, RFC 8621 §4.1.4 preview). */

const ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  copy: '©',
  reg: '®',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  laquo: '«',
  raquo: '»',
  euro: '€',
  auml: 'ä',
  ouml: 'ö',
  uuml: 'ü',
  Auml: 'Ä',
  Ouml: 'Ö',
  Uuml: 'Ü',
  szlig: 'ß',
  eacute: 'é',
  egrave: 'è',
  agrave: 'à',
  ccedil: 'ç',
  rsquo: '\u2019',
  lsquo: '\u2018',
  rdquo: '\u201d',
  ldquo: '\u201c',
  zwnj: '',
};

function decodeEntity(_m: string, body: string): string {
  if (body[0] === '#') {
    const code = body[1] === 'x' || body[1] === 'X' ? Number.parseInt(body.slice(2), 16) : Number.parseInt(body.slice(1), 10);
    return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
  }
  return ENTITIES[body] ?? `&${body};`;
}

/** Visible text of an HTML document: scripts, styles and tags removed, entities decoded, blocks on new lines. */
export function htmlToText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style|head|title)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<(br|\/p|\/div|\/tr|\/li|\/h[1-6]|p|div|tr|li|h[1-6])\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#?[a-zA-Z0-9]{1,10});/g, decodeEntity)
    .replace(/[ \t\f\v\u00a0]+/g, ' ')
    .replace(/ ?\n[\s]*/g, '\n')
    .trim();
}

/** True for a leaf that is text a person reads (not an attachment). */
export function isInlineText(part: MimePart): boolean {
  return part.type === 'text' && (part.subtype === 'plain' || part.subtype === 'html') && part.disposition?.type !== 'attachment';
}

/**
 * The decoded text of a text/* leaf: transfer-decoded, charset-decoded, HTML stripped. Reads at
 * most `maxBytes` of the encoded body so previews of huge parts stay cheap.
 */
export function partText(raw: Buffer, part: MimePart, maxBytes = Number.POSITIVE_INFINITY): string {
  const end = Math.min(part.bodyEnd, part.bodyStart + maxBytes);
  const decoded = decodeTransfer(raw.subarray(part.bodyStart, end), part.encoding) ?? raw.subarray(part.bodyStart, end);
  const text = decodeCharset(decoded, part.params['charset']);
  return part.subtype === 'html' ? htmlToText(text) : text;
}

/** Every readable text leaf in document order, including those inside attached messages. */
export function textLeaves(root: MimePart): MimePart[] {
  const out: MimePart[] = [];
  const walk = (p: MimePart) => {
    if (p.children.length) for (const c of p.children) walk(c);
    else if (p.message) walk(p.message.root);
    else if (p.type === 'text' && (p.subtype === 'plain' || p.subtype === 'html')) out.push(p);
  };
  walk(root);
  return out;
}
