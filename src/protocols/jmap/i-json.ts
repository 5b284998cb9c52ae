/**
 * A strict I-JSON parser (RFC 7493, required by RFC 8620 §1.5 and §3.6.1 `notJSON`). Unlike
 * `JSON.parse` it refuses duplicate member names, unpaired surrogates, invalid UTF-8, integers
 * beyond ±(2^53−1) (RFC 8620 §1.3) and numbers that overflow a double. Never throws.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type ParseResult =
  | { readonly ok: true; readonly value: JsonValue }
  | { readonly ok: false; readonly error: string; readonly position: number };

/** Deeper nesting than this is refused instead of risking the stack. */
export const MAX_DEPTH = 256;

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class Fail {
  readonly error: string;
  readonly position: number;
  constructor(error: string, position: number) {
    this.error = error;
    this.position = position;
  }
}

// RFC 7493 §2.1: strings must not contain Unicode noncharacters (U+FDD0–U+FDEF, U+xFFFE, U+xFFFF).
const NONCHARACTER_RE =
  /[\u{FDD0}-\u{FDEF}\u{FFFE}\u{FFFF}\u{1FFFE}\u{1FFFF}\u{2FFFE}\u{2FFFF}\u{3FFFE}\u{3FFFF}\u{4FFFE}\u{4FFFF}\u{5FFFE}\u{5FFFF}\u{6FFFE}\u{6FFFF}\u{7FFFE}\u{7FFFF}\u{8FFFE}\u{8FFFF}\u{9FFFE}\u{9FFFF}\u{AFFFE}\u{AFFFF}\u{BFFFE}\u{BFFFF}\u{CFFFE}\u{CFFFF}\u{DFFFE}\u{DFFFF}\u{EFFFE}\u{EFFFF}\u{FFFFE}\u{FFFFF}\u{10FFFE}\u{10FFFF}]/u;

const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Parses bytes that must be UTF-8 I-JSON text (RFC 8259 §2 with RFC 7493 §2 restrictions). */
export function parseIJson(input: Uint8Array | string): ParseResult {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    try {
      text = decoder.decode(input);
    } catch {
      return { ok: false, error: 'the body is not valid UTF-8', position: 0 };
    }
  }
  const parser = new Parser(text);
  try {
    parser.ws();
    const value = parser.value(0);
    parser.ws();
    if (parser.pos !== text.length) return { ok: false, error: 'unexpected data after the JSON value', position: parser.pos };
    return { ok: true, value };
  } catch (err) {
    if (err instanceof Fail) return { ok: false, error: err.error, position: err.position };
    return { ok: false, error: 'malformed JSON', position: parser.pos };
  }
}

class Parser {
  readonly s: string;
  pos = 0;

  constructor(s: string) {
    this.s = s;
  }

  fail(message: string): never {
    throw new Fail(message, this.pos);
  }

  ws(): void {
    const s = this.s;
    let p = this.pos;
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
    const c = this.s.charCodeAt(this.pos);
    switch (c) {
      case 0x7b:
        return this.object(depth);
      case 0x5b:
        return this.array(depth);
      case 0x22:
        return this.string();
      case 0x74:
        return this.literal('true', true);
      case 0x66:
        return this.literal('false', false);
      case 0x6e:
        return this.literal('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
        return this.fail(Number.isNaN(c) ? 'unexpected end of input' : 'unexpected character');
    }
  }

  literal<T>(word: string, value: T): T {
    if (!this.s.startsWith(word, this.pos)) this.fail('unexpected character');
    this.pos += word.length;
    return value;
  }

  number(): number {
    NUMBER_RE.lastIndex = this.pos;
    const m = NUMBER_RE.exec(this.s);
    if (!m) return this.fail('malformed number');
    const raw = m[0];
    const n = Number(raw);
    if (!Number.isFinite(n)) this.fail('number out of range');
    if (/^-?\d+$/.test(raw) && !Number.isSafeInteger(n)) this.fail('integer beyond ±(2^53-1)');
    this.pos += raw.length;
    return n;
  }

  string(): string {
    const s = this.s;
    let p = this.pos + 1;
    let out = '';
    let start = p;
    for (;;) {
      const c = s.charCodeAt(p);
      if (Number.isNaN(c)) {
        this.pos = p;
        this.fail('unterminated string');
      }
      if (c === 0x22) break;
      if (c < 0x20) {
        this.pos = p;
        this.fail('control character in string');
      }
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = s.charCodeAt(p + 1);
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          p += 2;
          continue;
        }
        this.pos = p;
        this.fail('unpaired surrogate in string');
      }
      if (c === 0x5c) {
        out += s.slice(start, p);
        const e = s.charCodeAt(p + 1);
        p += 2;
        switch (e) {
          case 0x22:
            out += '"';
            break;
          case 0x5c:
            out += '\\';
            break;
          case 0x2f:
            out += '/';
            break;
          case 0x62:
            out += '\b';
            break;
          case 0x66:
            out += '\f';
            break;
          case 0x6e:
            out += '\n';
            break;
          case 0x72:
            out += '\r';
            break;
          case 0x74:
            out += '\t';
            break;
          case 0x75: {
            const unit = this.hex4(p);
            p += 4;
            if (unit >= 0xd800 && unit <= 0xdbff) {
              if (s.charCodeAt(p) !== 0x5c || s.charCodeAt(p + 1) !== 0x75) {
                this.pos = p;
                this.fail('unpaired surrogate escape');
              }
              const low = this.hex4(p + 2);
              if (low < 0xdc00 || low > 0xdfff) {
                this.pos = p;
                this.fail('unpaired surrogate escape');
              }
              p += 6;
              out += String.fromCharCode(unit, low);
            } else if (unit >= 0xdc00 && unit <= 0xdfff) {
              this.pos = p;
              this.fail('unpaired surrogate escape');
            } else {
              out += String.fromCharCode(unit);
            }
            break;
          }
          default:
            this.pos = p - 1;
            this.fail('invalid escape in string');
        }
        start = p;
        continue;
      }
      p++;
    }
    out += s.slice(start, p);
    if (NONCHARACTER_RE.test(out)) {
      this.pos = p;
      this.fail('noncharacter in string');
    }
    this.pos = p + 1;
    return out;
  }

  hex4(at: number): number {
    const h = this.s.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) {
      this.pos = at;
      this.fail('invalid \\u escape');
    }
    return Number.parseInt(h, 16);
  }

  array(depth: number): JsonValue[] {
    this.pos++;
    const out: JsonValue[] = [];
    this.ws();
    if (this.s.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.s.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x5d) {
        this.pos++;
        return out;
      }
      this.fail("expected ',' or ']'");
    }
  }

  object(depth: number): { [key: string]: JsonValue } {
    this.pos++;
    const out: { [key: string]: JsonValue } = {};
    const seen = new Set<string>();
    this.ws();
    if (this.s.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s.charCodeAt(this.pos) !== 0x22) this.fail('expected a member name');
      const keyAt = this.pos;
      const key = this.string();
      if (seen.has(key)) {
        this.pos = keyAt;
        this.fail(`duplicate member name ${JSON.stringify(key.slice(0, 100))}`);
      }
      seen.add(key);
      this.ws();
      if (this.s.charCodeAt(this.pos) !== 0x3a) this.fail("expected ':'");
      this.pos++;
      this.ws();
      const value = this.value(depth + 1);
      // defineProperty, not assignment: a member named "__proto__" must stay a plain member.
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      this.ws();
      const c = this.s.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x7d) {
        this.pos++;
        return out;
      }
      this.fail("expected ',' or '}'");
    }
  }
}
