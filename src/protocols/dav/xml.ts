import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * WebDAV request bodies (RFC 4918 §8.2, §17): XML 1.0 with namespaces, read with fast-xml-parser
 * under limits — size, nesting depth and element count — with no DTD at all, so no entity is ever
 * declared or expanded; only the five predefined entities and character references are decoded.
 */

/** A namespace-resolved element. */
export interface XmlElement {
  /** Namespace URI ('' when none). */
  readonly ns: string;
  /** Local name. */
  readonly name: string;
  /** Attributes by local name (namespace declarations left out). */
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** Concatenated character data directly inside the element, entities decoded. */
  readonly text: string;
}

/** Bounds on request XML. */
export interface XmlLimits {
  readonly maxBytes: number;
  readonly maxDepth: number;
  readonly maxElements: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = { maxBytes: 1 << 20, maxDepth: 32, maxElements: 20_000 };

/** Malformed or over-limit XML (answered 400, or 413 when `tooLarge`). */
export class DavXmlError extends Error {
  readonly line: number | undefined;
  readonly tooLarge: boolean;
  constructor(message: string, line?: number, tooLarge = false) {
    super(message);
    this.name = 'DavXmlError';
    this.line = line;
    this.tooLarge = tooLarge;
  }
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false,
  htmlEntities: false,
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes the predefined entities and character references (XML 1.0 §4.1, §4.6); anything else is an error. */
export function decodeEntities(text: string): string {
  return text.replace(/&([^;&\s]{1,12});/g, (m, ref: string) => {
    if (ref in PREDEFINED) return PREDEFINED[ref]!;
    const code = ref.startsWith('#x')
      ? Number.parseInt(ref.slice(2), 16)
      : ref.startsWith('#')
        ? Number.parseInt(ref.slice(1), 10)
        : Number.NaN;
    if (!Number.isInteger(code) || code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
      throw new DavXmlError(`undeclared entity or bad character reference ${m.slice(0, 20)}`);
    return String.fromCodePoint(code);
  });
}

/** Nesting depth and element count by a linear scan of the tags (before any tree is built). */
function measure(text: string, limits: XmlLimits): void {
  let depth = 0;
  let elements = 0;
  const tag = /<(\/?)([^\s>/!?]*)[^>]*?(\/?)>|<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>/g;
  for (let m = tag.exec(text); m; m = tag.exec(text)) {
    if (m[2] === undefined || m[2] === '') continue; // comment, CDATA, PI
    if (m[1] === '/') depth--;
    else {
      elements++;
      if (m[3] !== '/') depth++;
      if (depth > limits.maxDepth) throw new DavXmlError(`the XML nests deeper than ${limits.maxDepth} elements`);
      if (elements > limits.maxElements) throw new DavXmlError(`the XML has more than ${limits.maxElements} elements`, undefined, true);
    }
  }
}

type Raw = Record<string, unknown>;

/**
 * Parses a request body into a namespace-resolved tree. Throws DavXmlError for malformed XML,
 * any DOCTYPE (so no entity can be declared), an undeclared prefix, or a body over the limits.
 */
export function parseXml(body: string, limits: XmlLimits = DEFAULT_XML_LIMITS): XmlElement {
  if (Buffer.byteLength(body) > limits.maxBytes)
    throw new DavXmlError(`the XML body is larger than ${limits.maxBytes} bytes`, undefined, true);
  if (/<!DOCTYPE|<!ENTITY/i.test(body)) throw new DavXmlError('DOCTYPE and entity declarations are not accepted');
  measure(body, limits);
  const valid = XMLValidator.validate(body);
  if (valid !== true) throw new DavXmlError(`malformed XML: ${valid.err.msg}`, valid.err.line);
  const doc = parser.parse(body) as Raw[];
  const roots = doc.filter((n) => !('#text' in n) && !('#comment' in n));
  if (roots.length !== 1) throw new DavXmlError('an XML body has exactly one root element');
  return resolve(roots[0]!, new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]));
}

function resolve(node: Raw, scope: ReadonlyMap<string, string>): XmlElement {
  const qname = Object.keys(node).find((k) => k !== ':@')!;
  const rawAttrs = (node[':@'] ?? {}) as Record<string, string>;
  let inner: Map<string, string> | undefined;
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawAttrs)) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) {
      inner ??= new Map(scope);
      inner.set(k === 'xmlns' ? '' : k.slice(6), decodeEntities(v));
    }
  }
  const ns = inner ?? scope;
  for (const [k, v] of Object.entries(rawAttrs)) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
    const colon = k.indexOf(':');
    attrs[colon < 0 ? k : k.slice(colon + 1)] = decodeEntities(v);
  }
  const colon = qname.indexOf(':');
  const prefix = colon < 0 ? '' : qname.slice(0, colon);
  const uri = ns.get(prefix);
  if (uri === undefined && prefix !== '') throw new DavXmlError(`undeclared namespace prefix ${prefix.slice(0, 40)}`);
  const children: XmlElement[] = [];
  let text = '';
  for (const c of (node[qname] ?? []) as Raw[]) {
    if ('#text' in c) text += decodeEntities(String(c['#text']));
    else if ('__cdata' in c) text += String((c.__cdata as Raw[])[0]?.['#text'] ?? '');
    else if (!('#comment' in c)) children.push(resolve(c, ns));
  }
  return { ns: uri ?? '', name: colon < 0 ? qname : qname.slice(colon + 1), attrs, children, text };
}

/** The first child with this namespace and name. */
export function child(el: XmlElement | undefined, ns: string, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.ns === ns && c.name === name);
}

/** Every child with this namespace and name. */
export function childrenOf(el: XmlElement | undefined, ns: string, name: string): XmlElement[] {
  return el ? el.children.filter((c) => c.ns === ns && c.name === name) : [];
}

/** Whether the element is `{ns}name`. */
export function is(el: XmlElement | undefined, ns: string, name: string): boolean {
  return el !== undefined && el.ns === ns && el.name === name;
}
