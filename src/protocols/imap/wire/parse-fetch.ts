import { type Cursor, ParseError } from './cursor.ts';
import type { FetchItem, Partial, Section } from './types.ts';

/** FETCH attribute parsing (RFC 9051 §6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ, RFC 8474 EMAILID/THREADID, RFC 8970 PREVIEW). */

const isNameChar = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2e;
const isSectionChar = isNameChar;

const SIMPLE = new Set([
  'FLAGS',
  'UID',
  'INTERNALDATE',
  'RFC822.SIZE',
  'ENVELOPE',
  'BODYSTRUCTURE',
  'BODY',
  'MODSEQ',
  'RFC822',
  'RFC822.HEADER',
  'RFC822.TEXT',
  'EMAILID',
  'THREADID',
  'SAVEDATE',
]);

/** Macros (RFC 9051 §6.4.5). */
export const FETCH_MACROS: Readonly<Record<string, readonly FetchItem[]>> = {
  ALL: [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }, { kind: 'ENVELOPE' }],
  FAST: [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }],
  FULL: [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }, { kind: 'ENVELOPE' }, { kind: 'BODY' }],
};

function parsePartNumbers(s: string): number[] {
  if (s === '') return [];
  return s.split('.').map((n) => {
    if (!/^[1-9]\d{0,8}$/.test(n)) throw new ParseError('Invalid section part number');
    return Number(n);
  });
}

function readPartial(c: Cursor): Partial | null {
  if (!c.accept(0x3c)) return null;
  const start = c.number();
  c.expect(0x2e, '"."');
  const length = c.nzNumber();
  c.expect(0x3e, '">"');
  return { start, length };
}

/** A section-spec without its header field list: `1.2`, `HEADER`, `1.TEXT`, `2.MIME` (RFC 9051 §9). */
export function sectionSpec(text: string): Pick<Section, 'part' | 'text'> {
  const spec = text.toUpperCase();
  const m = /^((?:[1-9]\d*)(?:\.[1-9]\d*)*)?(?:(?:^|\.)(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME))?$/.exec(spec);
  if (!m || spec === '') throw new ParseError('Invalid section');
  const part = parsePartNumbers(m[1] ?? '');
  const kind = (m[2] ?? null) as Section['text'];
  if (kind === 'MIME' && part.length === 0) throw new ParseError('MIME needs a part number');
  return { part, text: kind };
}

/** section = "[" [section-spec] "]" (RFC 9051 §9). */
function readSection(c: Cursor): Section {
  c.expect(0x5b, '"["');
  if (c.accept(0x5d)) return { part: [], text: null, fields: [] };
  const { part, text } = sectionSpec(c.run(isSectionChar, 'a section'));
  let fields: string[] = [];
  if (text === 'HEADER.FIELDS' || text === 'HEADER.FIELDS.NOT') {
    c.sp();
    fields = c.list(() => {
      const name = c.astring().toString('latin1');
      if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) throw new ParseError('Invalid header field name');
      return name;
    });
  }
  c.expect(0x5d, '"]"');
  return { part, text, fields };
}

/** section-binary = "[" [section-part] "]" (RFC 3516 §6). */
function readBinarySection(c: Cursor): number[] {
  c.expect(0x5b, '"["');
  if (c.accept(0x5d)) return [];
  const spec = c.run((ch) => (ch >= 0x30 && ch <= 0x39) || ch === 0x2e, 'a part number');
  c.expect(0x5d, '"]"');
  return parsePartNumbers(spec);
}

/** One fetch-att. */
export function readFetchItem(c: Cursor): FetchItem {
  const name = c.run(isNameChar, 'a fetch attribute').toUpperCase();
  if (name === 'BODY' || name === 'BODY.PEEK') {
    if (c.peek() === 0x5b) {
      const section = readSection(c);
      return { kind: 'BODY[]', peek: name === 'BODY.PEEK', section, partial: readPartial(c) };
    }
    if (name === 'BODY.PEEK') throw new ParseError('BODY.PEEK needs a section');
    return { kind: 'BODY' };
  }
  if (name === 'BINARY' || name === 'BINARY.PEEK') {
    const part = readBinarySection(c);
    return { kind: 'BINARY[]', peek: name === 'BINARY.PEEK', part, partial: readPartial(c) };
  }
  if (name === 'BINARY.SIZE') return { kind: 'BINARY.SIZE', part: readBinarySection(c) };
  if (name === 'PREVIEW') {
    // RFC 8970 §3: PREVIEW [SP "(" preview-mod *(SP preview-mod) ")"], the one modifier being LAZY.
    let lazy = false;
    if (c.peek() === 0x20 && c.rest().startsWith(' (')) {
      c.sp();
      c.list(() => {
        const mod = c.atom().toUpperCase();
        if (mod !== 'LAZY') throw new ParseError(`Unknown preview modifier ${mod.slice(0, 20)}`);
        lazy = true;
        return mod;
      });
    }
    return { kind: 'PREVIEW', lazy };
  }
  if (SIMPLE.has(name)) return { kind: name as Extract<FetchItem, { kind: 'FLAGS' }>['kind'] };
  throw new ParseError(`Unknown fetch attribute ${name.slice(0, 40)}`);
}

/** The attribute list of a FETCH: a macro, one attribute, or a parenthesised list. */
export function readFetchItems(c: Cursor): FetchItem[] {
  if (c.peek() === 0x28) return c.list(() => readFetchItem(c));
  const save = c.rest();
  const macro = /^(ALL|FAST|FULL)(?=$| )/i.exec(save);
  if (macro) {
    c.run(isNameChar, 'a macro');
    return [...FETCH_MACROS[macro[1]!.toUpperCase()]!];
  }
  return [readFetchItem(c)];
}

/** The name a FETCH response uses for a section (RFC 9051 §7.5.2): `BODY[1.HEADER.FIELDS (From)]<0>`. */
export function sectionLabel(section: Section): string {
  const parts = section.part.join('.');
  let s = parts;
  if (section.text) s += (parts ? '.' : '') + section.text;
  if (section.fields.length) s += ` (${section.fields.join(' ')})`;
  return s;
}
