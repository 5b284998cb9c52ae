import { type Cursor, ParseError } from './cursor.ts';
import { parseSearchDate } from './datetime.ts';
import { readSequenceSet } from './sequence.ts';
import type { DateCmp, PartialRange, SearchKey, SearchReturn } from './types.ts';

/** SEARCH program parsing (RFC 9051 §6.4.4, RFC 4731 ESEARCH, RFC 7162 §3.1.5, RFC 5032). */

/**
 * Bounds on a search program (RFC 9051 leaves them to the server): nesting, keys, keys that scan
 * message text (each one reads every message's text), and the length of a search string.
 */
const MAX_DEPTH = 32;
const MAX_KEYS = 1000;
const MAX_TEXT_KEYS = 32;
const MAX_STRING_OCTETS = 1024;

const FLAG_KEYS: Readonly<Record<string, [string, boolean]>> = {
  ANSWERED: ['\\Answered', true],
  DELETED: ['\\Deleted', true],
  DRAFT: ['\\Draft', true],
  FLAGGED: ['\\Flagged', true],
  SEEN: ['\\Seen', true],
  UNANSWERED: ['\\Answered', false],
  UNDELETED: ['\\Deleted', false],
  UNDRAFT: ['\\Draft', false],
  UNFLAGGED: ['\\Flagged', false],
  UNSEEN: ['\\Seen', false],
};

const ADDRESS_KEYS: Readonly<Record<string, 'from' | 'to' | 'cc' | 'bcc'>> = { FROM: 'from', TO: 'to', CC: 'cc', BCC: 'bcc' };

const DATE_KEYS: Readonly<Record<string, ['internaldate' | 'sentdate' | 'savedate', DateCmp]>> = {
  SAVEDBEFORE: ['savedate', 'before'],
  SAVEDON: ['savedate', 'on'],
  SAVEDSINCE: ['savedate', 'since'],
  BEFORE: ['internaldate', 'before'],
  ON: ['internaldate', 'on'],
  SINCE: ['internaldate', 'since'],
  SENTBEFORE: ['sentdate', 'before'],
  SENTON: ['sentdate', 'on'],
  SENTSINCE: ['sentdate', 'since'],
};

const RETURNS = new Set<SearchReturn>(['MIN', 'MAX', 'ALL', 'COUNT', 'SAVE', 'PARTIAL', 'UPDATE', 'CONTEXT']);

class KeyReader {
  readonly #c: Cursor;
  #count = 0;
  #textKeys = 0;

  constructor(c: Cursor) {
    this.#c = c;
  }

  #text(): string {
    this.#c.sp();
    const value = this.#c.astring();
    if (value.length > MAX_STRING_OCTETS) throw new ParseError(`Search strings are limited to ${MAX_STRING_OCTETS} octets`);
    return value.toString('utf8');
  }

  /** A key that matches message text: counted against MAX_TEXT_KEYS. */
  #textKey(): void {
    if (++this.#textKeys > MAX_TEXT_KEYS) throw new ParseError(`At most ${MAX_TEXT_KEYS} text search keys`);
  }

  #date(): number {
    const s = this.#text();
    const day = parseSearchDate(s);
    if (day === null) throw new ParseError('Invalid date');
    return day;
  }

  #flag(): string {
    this.#c.sp();
    return this.#c.atom();
  }

  key(depth: number): SearchKey {
    const c = this.#c;
    if (++this.#count > MAX_KEYS) throw new ParseError('Too many search keys');
    if (depth > MAX_DEPTH) throw new ParseError('Search program nested too deeply');
    const p = c.peek();
    if (p === 0x28) {
      c.expect(0x28, '"("');
      const keys = this.keys(depth + 1, true);
      c.expect(0x29, '")"');
      return keys.length === 1 ? keys[0]! : { op: 'and', keys };
    }
    if ((p >= 0x30 && p <= 0x39) || p === 0x2a || p === 0x24) return { op: 'seq', set: readSequenceSet(c) };
    const word = c.atom().toUpperCase();
    const flag = FLAG_KEYS[word];
    if (flag) return { op: 'flag', flag: flag[0], set: flag[1] };
    const address = ADDRESS_KEYS[word];
    if (address) {
      this.#textKey();
      return { op: 'address', field: address, value: this.#text() };
    }
    const date = DATE_KEYS[word];
    if (date) return { op: date[0], cmp: date[1], day: this.#date() };
    switch (word) {
      case 'ALL':
      // RFC 8514 §4: every mailbox here keeps save dates.
      case 'SAVEDATESUPPORTED':
        return { op: 'all' };
      case 'OLD':
        return { op: 'not', key: { op: 'recent' } };
      case 'NEW':
        return { op: 'and', keys: [{ op: 'recent' }, { op: 'flag', flag: '\\Seen', set: false }] };
      case 'RECENT':
        return { op: 'recent' };
      case 'KEYWORD':
        return { op: 'flag', flag: this.#flag(), set: true };
      case 'UNKEYWORD':
        return { op: 'flag', flag: this.#flag(), set: false };
      case 'BODY':
        this.#textKey();
        return { op: 'body', value: this.#text() };
      case 'TEXT':
        this.#textKey();
        return { op: 'text', value: this.#text() };
      case 'SUBJECT':
        this.#textKey();
        return { op: 'header', field: 'subject', value: this.#text() };
      case 'HEADER': {
        this.#textKey();
        const field = this.#text().toLowerCase();
        if (!/^[\x21-\x39\x3b-\x7e]+$/.test(field)) throw new ParseError('Invalid header field name');
        return { op: 'header', field, value: this.#text() };
      }
      case 'LARGER':
      case 'SMALLER':
        c.sp();
        return { op: word === 'LARGER' ? 'larger' : 'smaller', size: c.modseq() };
      case 'NOT':
        c.sp();
        return { op: 'not', key: this.key(depth + 1) };
      case 'OR': {
        c.sp();
        const a = this.key(depth + 1);
        c.sp();
        return { op: 'or', a, b: this.key(depth + 1) };
      }
      case 'UID':
        c.sp();
        return { op: 'uid', set: readSequenceSet(c) };
      case 'MODSEQ': {
        c.sp();
        // Optional entry-name and entry-type (RFC 7162 §3.1.5); only the value matters here.
        if (c.peek() === 0x22) {
          c.string();
          c.sp();
          const type = c.atom().toLowerCase();
          if (!['priv', 'shared', 'all'].includes(type)) throw new ParseError('Invalid MODSEQ entry type');
          c.sp();
        }
        return { op: 'modseq', modseq: c.modseq() };
      }
      case 'OLDER':
      case 'YOUNGER':
        c.sp();
        return { op: word === 'OLDER' ? 'older' : 'younger', seconds: c.nzNumber() };
      case 'EMAILID':
      case 'THREADID':
        c.sp();
        return { op: word === 'EMAILID' ? 'emailid' : 'threadid', id: c.atom() };
      default:
        throw new ParseError(`Unknown search key ${word.slice(0, 40)}`);
    }
  }

  keys(depth: number, inParens: boolean): SearchKey[] {
    const c = this.#c;
    const out: SearchKey[] = [this.key(depth)];
    for (;;) {
      if (inParens ? c.peek() === 0x29 : c.atEnd()) return out;
      c.sp();
      out.push(this.key(depth));
    }
  }
}

/** `key *(SP key)` to the end of the command, as one key (an AND of several). */
export function readSearchKeys(c: Cursor): SearchKey {
  const keys = new KeyReader(c).keys(0, false);
  return keys.length === 1 ? keys[0]! : { op: 'and', keys };
}

/** `RETURN (opts)` of SEARCH (RFC 4731) and SORT (RFC 5267), after `RETURN SP`. */
/**
 * `partial-range` (RFC 9394 §5): `a:b` or `-a:-b` with nz-numbers up to 2^32-1; the two ends may
 * come in either order.
 */
export function readPartialRange(c: Cursor): PartialRange {
  const text = c.run((ch) => ch === 0x2d || ch === 0x3a || (ch >= 0x30 && ch <= 0x39), 'a partial range');
  const m = /^(-?)([1-9]\d{0,9}):(-?)([1-9]\d{0,9})$/.exec(text);
  if (!m || m[1] !== m[3]) throw new ParseError('Invalid partial range');
  const a = Number(m[2]);
  const b = Number(m[4]);
  if (a > 0xffffffff || b > 0xffffffff) throw new ParseError('Invalid partial range');
  return { from: Math.min(a, b), to: Math.max(a, b), fromEnd: m[1] === '-' };
}

/** `(return-opt …)` of ESEARCH/ESORT (RFC 4731 §3.1, RFC 9394 PARTIAL); PARTIAL and ALL exclude each other. */
export function readReturnOptions(c: Cursor): { returns: SearchReturn[]; partial: PartialRange | null } {
  let partial: PartialRange | null = null;
  const returns = c.list(() => {
    const r = c.atom().toUpperCase() as SearchReturn;
    if (!RETURNS.has(r)) throw new ParseError(`Unknown search return option ${r.slice(0, 20)}`);
    if (r === 'PARTIAL') {
      if (partial) throw new ParseError('PARTIAL given twice');
      c.sp();
      partial = readPartialRange(c);
    }
    return r;
  }, true);
  if (partial && returns.includes('ALL')) throw new ParseError('PARTIAL and ALL cannot be used together');
  return { returns, partial };
}

/** `[RETURN (opts)] [CHARSET x] key *(SP key)` after `SEARCH SP`. */
export function readSearchProgram(c: Cursor): {
  returns: SearchReturn[] | null;
  partial: PartialRange | null;
  charset: string | null;
  criteria: SearchKey;
} {
  let returns: SearchReturn[] | null = null;
  let partial: PartialRange | null = null;
  let charset: string | null = null;
  const upcoming = c.rest().toUpperCase();
  if (upcoming.startsWith('RETURN ')) {
    c.atom();
    c.sp();
    ({ returns, partial } = readReturnOptions(c));
    c.sp();
  }
  if (c.rest().toUpperCase().startsWith('CHARSET ')) {
    c.atom();
    c.sp();
    charset = c.astring().toString('latin1');
    c.sp();
  }
  return { returns, partial, charset, criteria: readSearchKeys(c) };
}
