import { decodeCharset } from './charset.ts';
import { decodeEncodedWords } from './encoded-word.ts';

/** A structured header value such as Content-Type or Content-Disposition: the token and its parameters. */
export interface StructuredValue {
  /** The leading token, lower-case (`text/plain`, `attachment`), '' when missing. */
  readonly value: string;
  /** Parameters with lower-case names; RFC 2231 continuations merged and decoded. */
  readonly params: Record<string, string>;
}

function stripComments(s: string): string {
  if (!s.includes('(')) return s;
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      out += c;
      if (c === '\\' && i + 1 < s.length) out += s[++i];
      else if (c === '"') quoted = false;
    } else if (depth > 0) {
      if (c === '\\') i++;
      else if (c === '(') depth++;
      else if (c === ')') depth--;
    } else if (c === '"') {
      quoted = true;
      out += c;
    } else if (c === '(') depth++;
    else out += c;
  }
  return out;
}

interface RawParam {
  readonly name: string;
  readonly value: string;
  readonly quoted: boolean;
}

function splitParams(s: string): { head: string; params: RawParam[] } {
  const params: RawParam[] = [];
  let i = s.indexOf(';');
  const head = (i < 0 ? s : s.slice(0, i)).trim();
  if (i < 0) return { head, params };
  while (i < s.length) {
    i++; // past ';'
    while (i < s.length && /[ \t;]/.test(s[i]!)) i++;
    const eq = s.indexOf('=', i);
    const semi = s.indexOf(';', i);
    if (eq < 0 || (semi >= 0 && semi < eq)) {
      if (semi < 0) break;
      i = semi;
      continue;
    }
    const name = s.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
    let value = '';
    let quoted = false;
    if (s[i] === '"') {
      quoted = true;
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        value += s[i];
        i++;
      }
      i++;
      const next = s.indexOf(';', i);
      i = next < 0 ? s.length : next;
    } else {
      const next = s.indexOf(';', i);
      value = (next < 0 ? s.slice(i) : s.slice(i, next)).trim();
      i = next < 0 ? s.length : next;
    }
    if (name && !/[\s"]/.test(name)) params.push({ name, value, quoted });
  }
  return { head, params };
}

function percentDecode(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) out.push(c);
    else out.push(...Buffer.from(s[i]!, 'utf8'));
  }
  return Buffer.from(out);
}

/** Merges RFC 2231 §3–§4 continuations (`name*0`, `name*1*`) and charset-encoded values (`name*`). */
function mergeParams(raw: readonly RawParam[]): Record<string, string> {
  // A Map, turned into a plain object at the end: a parameter named `__proto__` stays a plain key.
  const params = new Map<string, string>();
  const extended = new Map<string, Array<{ index: number; value: string; encoded: boolean }>>();
  for (const p of raw) {
    const m = /^([^*]+)\*(\d{1,3})?(\*)?$/.exec(p.name);
    if (m) {
      const base = m[1]!;
      const index = m[2] === undefined ? 0 : Number(m[2]);
      const encoded = m[2] === undefined ? true : m[3] === '*';
      let list = extended.get(base);
      if (!list) extended.set(base, (list = []));
      if (!list.some((x) => x.index === index)) list.push({ index, value: p.value, encoded: encoded && !p.quoted });
    } else if (!params.has(p.name)) {
      params.set(p.name, p.quoted || p.value.includes('=?') ? decodeEncodedWords(p.value) : p.value);
    }
  }
  for (const [base, list] of extended) {
    list.sort((a, b) => a.index - b.index);
    let charset: string | undefined;
    const bytes: Buffer[] = [];
    for (const [n, seg] of list.entries()) {
      let v = seg.value;
      if (seg.encoded) {
        if (n === 0) {
          const q1 = v.indexOf("'");
          const q2 = q1 < 0 ? -1 : v.indexOf("'", q1 + 1);
          if (q2 >= 0) {
            charset = v.slice(0, q1) || undefined;
            v = v.slice(q2 + 1);
          }
        }
        bytes.push(percentDecode(v));
      } else bytes.push(Buffer.from(v, 'utf8'));
    }
    params.set(base, decodeCharset(Buffer.concat(bytes), charset ?? 'utf-8').replace(/\0/g, ''));
  }
  return Object.fromEntries(params);
}

/** Parses `token; name=value; …` (RFC 2045 §5.1, RFC 2183 §2) with RFC 2231 parameter values. */
export function parseStructured(value: string): StructuredValue {
  const { head, params } = splitParams(stripComments(value));
  return { value: head.toLowerCase(), params: mergeParams(params) };
}

/** Media type and subtype of a Content-Type value, or null when it is not `type/subtype` (RFC 2045 §5.2). */
export function splitMediaType(token: string): { type: string; subtype: string } | null {
  const m = /^([a-z0-9!#$&^_.+-]+)\s*\/\s*([a-z0-9!#$&^_.+-]+)$/.exec(token);
  return m ? { type: m[1]!, subtype: m[2]! } : null;
}
