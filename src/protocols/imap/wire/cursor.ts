import type { Frame } from './types.ts';

/**
 * Reads RFC 9051 §9 grammar elements (atom, quoted, literal, astring, nstring, number, lists) out
 * of a command frame. A literal is the bytes that followed the `{n}` marker closing a line.
 * Violations throw `ParseError`, which the parser turns into a tagged BAD.
 */

export class ParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParseError';
  }
}

const SP = 0x20;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const TILDE = 0x7e;

/** atom-char (RFC 9051 §9): any CHAR except atom-specials `( ) { SP CTL % * " \ ]`. */
export function isAtomChar(c: number): boolean {
  return (
    c > 0x20 &&
    c < 0x7f &&
    c !== 0x28 &&
    c !== 0x29 &&
    c !== LBRACE &&
    c !== 0x25 &&
    c !== 0x2a &&
    c !== DQUOTE &&
    c !== BACKSLASH &&
    c !== 0x5d
  );
}

/** ASTRING-CHAR: atom-char or `]`. */
function isAstringChar(c: number): boolean {
  return isAtomChar(c) || c === 0x5d;
}

/** list-char: ATOM-CHAR / list-wildcards / resp-specials (RFC 9051 §9, for LIST patterns). */
function isListChar(c: number): boolean {
  return isAstringChar(c) || c === 0x25 || c === 0x2a;
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes UTF-8 strictly: a mailbox name with invalid UTF-8 is refused, never turned into U+FFFD. */
function utf8Name(bytes: Buffer, what: string): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    throw new ParseError(`${what} is not valid UTF-8`);
  }
}

export class Cursor {
  readonly #frame: Frame;
  #line = 0;
  #pos = 0;

  constructor(frame: Frame) {
    this.#frame = frame;
  }

  get #cur(): Buffer {
    return this.#frame.lines[this.#line]!;
  }

  /** The next byte on the current line, or -1 at its end. */
  peek(): number {
    const l = this.#cur;
    return this.#pos < l.length ? l[this.#pos]! : -1;
  }

  /** True at the very end of the command. */
  atEnd(): boolean {
    return this.#line === this.#frame.lines.length - 1 && this.#pos >= this.#cur.length;
  }

  /** Fails unless the whole command has been read. */
  end(): void {
    if (!this.atEnd()) throw new ParseError('Unexpected extra arguments');
  }

  /** Consumes one expected byte. */
  expect(c: number, what: string): void {
    if (this.peek() !== c) throw new ParseError(`Expected ${what}`);
    this.#pos++;
  }

  /** Consumes `c` when it is next; returns whether it was. */
  accept(c: number): boolean {
    if (this.peek() !== c) return false;
    this.#pos++;
    return true;
  }

  sp(): void {
    this.expect(SP, 'a space');
  }

  /** Consumes a space if one follows; tolerant parsers for optional trailing arguments use it. */
  maybeSp(): boolean {
    return this.accept(SP);
  }

  /** Reads 1*atom-char (plus extra allowed bytes given by `allow`). */
  #run(test: (c: number) => boolean, what: string): string {
    const l = this.#cur;
    const start = this.#pos;
    while (this.#pos < l.length && test(l[this.#pos]!)) this.#pos++;
    if (this.#pos === start) throw new ParseError(`Expected ${what}`);
    return l.toString('latin1', start, this.#pos);
  }

  atom(): string {
    return this.#run(isAtomChar, 'an atom');
  }

  /** An atom that may contain `]` (tags, flags with `]` are rejected elsewhere). */
  astringAtom(): string {
    return this.#run(isAstringChar, 'an atom');
  }

  /** Reads a run of bytes for which `test` holds (sequence sets, section specs). */
  run(test: (c: number) => boolean, what: string): string {
    return this.#run(test, what);
  }

  /** number (RFC 9051 §9): 1*DIGIT fitting in `max` (uint32 by default; mod-sequence values are 63-bit). */
  number(max = 0xffffffff): number {
    const s = this.#run((c) => c >= 0x30 && c <= 0x39, 'a number');
    const n = Number(s);
    if (s.length > 19 || !Number.isSafeInteger(n) || n > max) throw new ParseError('Number out of range');
    return n;
  }

  /**
   * mod-sequence-value (RFC 7162 §7): up to 2^63-1. This server's values stay far below 2^53, so a
   * larger one (from another server) is clamped, which keeps its meaning: nothing is newer.
   */
  modseq(): number {
    const s = this.#run((c) => c >= 0x30 && c <= 0x39, 'a mod-sequence value');
    if (s.length > 19 || BigInt(s) > 0x7fffffffffffffffn) throw new ParseError('Mod-sequence value out of range');
    return Math.min(Number(s), Number.MAX_SAFE_INTEGER);
  }

  nzNumber(max = 0xffffffff): number {
    const n = this.number(max);
    if (n === 0) throw new ParseError('Expected a non-zero number');
    return n;
  }

  #quoted(): Buffer {
    const l = this.#cur;
    this.#pos++; // opening quote
    const out: number[] = [];
    while (this.#pos < l.length) {
      const c = l[this.#pos++]!;
      if (c === DQUOTE) return Buffer.from(out);
      if (c === BACKSLASH) {
        const e = l[this.#pos++];
        if (e !== DQUOTE && e !== BACKSLASH) throw new ParseError('Invalid escape in quoted string');
        out.push(e);
      } else if (c === 0x0d || c === 0x0a || c === 0) throw new ParseError('Invalid character in quoted string');
      else out.push(c);
    }
    throw new ParseError('Unterminated quoted string');
  }

  #literal(allowBinary: boolean): Buffer {
    const l = this.#cur;
    const rest = l.toString('latin1', this.#pos);
    if (!/^~?\{\d+\+?\}$/.test(rest)) throw new ParseError('Malformed literal');
    const lit = this.#frame.literals[this.#line];
    if (!lit || this.#line >= this.#frame.lines.length - 1) throw new ParseError('Missing literal data');
    if (lit.binary && !allowBinary) throw new ParseError('literal8 is only allowed for message data');
    if (!lit.binary && lit.data.includes(0)) throw new ParseError('NUL in a literal');
    this.#line++;
    this.#pos = 0;
    return lit.data;
  }

  /** True when a literal (`{n}` or `~{n}`) starts here. */
  atLiteral(): boolean {
    const c = this.peek();
    return c === LBRACE || (c === TILDE && this.#cur[this.#pos + 1] === LBRACE);
  }

  /** string = quoted / literal. `binary` also accepts literal8 (APPEND message data). */
  string(binary = false): Buffer {
    const c = this.peek();
    if (c === DQUOTE) return this.#quoted();
    if (this.atLiteral()) return this.#literal(binary);
    throw new ParseError('Expected a string');
  }

  /** Whether the string just read was a literal8 (`~{n}`); call before `string()`. */
  isBinaryLiteral(): boolean {
    return this.peek() === TILDE;
  }

  astring(): Buffer {
    const c = this.peek();
    if (c === DQUOTE || this.atLiteral()) return this.string();
    return Buffer.from(this.astringAtom(), 'latin1');
  }

  /** astring decoded as UTF-8 (user names, mailbox names, search strings). */
  astringText(): string {
    return this.astring().toString('utf8');
  }

  /** nstring = string / NIL. */
  nstring(): Buffer | null {
    if (this.peek() === DQUOTE || this.atLiteral()) return this.string();
    const a = this.atom();
    if (a.toUpperCase() !== 'NIL') throw new ParseError('Expected a string or NIL');
    return null;
  }

  /** mailbox (RFC 9051 §9): an astring that must be valid UTF-8 (RFC 9051 §5.1). */
  mailbox(): string {
    return utf8Name(this.astring(), 'The mailbox name');
  }

  /** list-mailbox (RFC 9051 §9): 1*list-char / string, valid UTF-8 like a mailbox name. */
  listMailbox(): string {
    const c = this.peek();
    if (c === DQUOTE || this.atLiteral()) return utf8Name(this.string(), 'The mailbox pattern');
    return this.#run(isListChar, 'a mailbox pattern');
  }

  /** Reads `(` item *(SP item) `)`; `empty` allows `()`. */
  list<T>(item: () => T, empty = false): T[] {
    this.expect(0x28, '"("');
    const out: T[] = [];
    if (this.accept(0x29)) {
      if (!empty) throw new ParseError('Empty list');
      return out;
    }
    for (;;) {
      out.push(item());
      if (this.accept(0x29)) return out;
      this.sp();
    }
  }

  /** The rest of the current line as text (diagnostics only). */
  rest(): string {
    return this.#cur.toString('latin1', this.#pos);
  }
}
