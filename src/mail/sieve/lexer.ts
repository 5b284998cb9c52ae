import { SieveError } from './errors.ts';

/** One lexical token of a Sieve script (RFC 5228 §8.1). */
export type Token =
  | { readonly kind: 'identifier'; readonly value: string; readonly line: number }
  | { readonly kind: 'tag'; readonly value: string; readonly line: number }
  | { readonly kind: 'number'; readonly value: number; readonly line: number }
  | { readonly kind: 'string'; readonly value: string; readonly line: number }
  | { readonly kind: 'special'; readonly value: '[' | ']' | '(' | ')' | ',' | ';' | '{' | '}'; readonly line: number };

const QUANTIFIER: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
/** Numbers above this are refused rather than rounded (RFC 5228 §2.4.1 needs at least 2^31). */
const MAX_NUMBER = 2 ** 53 - 1;
const isAlpha = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
const isDigit = (c: string) => c >= '0' && c <= '9';

/**
 * Splits a script into tokens (RFC 5228 §2.2–2.4, §8.1): identifiers, `:tags`, numbers with a
 * K/M/G quantifier, quoted strings with `\` escapes, `text:` multi-line strings with dot-stuffing,
 * and `#` / bracketed comments skipped. Bare LF line ends are taken like CRLF.
 */
export function tokenize(script: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  const n = script.length;
  while (i < n) {
    const c = script[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (c === '#') {
      while (i < n && script[i] !== '\n') i++;
    } else if (c === '/' && script[i + 1] === '*') {
      const end = script.indexOf('*/', i + 2);
      if (end < 0) throw new SieveError('unterminated comment', line);
      for (let k = i; k < end; k++) if (script[k] === '\n') line++;
      i = end + 2;
    } else if (c === '"') {
      const start = line;
      let value = '';
      i++;
      for (;;) {
        if (i >= n) throw new SieveError('unterminated string', start);
        const ch = script[i]!;
        if (ch === '"') break;
        if (ch === '\\') {
          // RFC 5228 §2.4.2: "\\" and "\"" stand for the character; any other backslash is dropped.
          i++;
          if (i >= n) throw new SieveError('unterminated string', start);
        }
        if (script[i] === '\n') line++;
        value += script[i];
        i++;
      }
      i++;
      out.push({ kind: 'string', value: value.replace(/\r?\n/g, '\r\n'), line: start });
    } else if (c === ':') {
      let j = i + 1;
      if (j >= n || !isAlpha(script[j]!)) throw new SieveError('":" must start a tag', line);
      while (j < n && (isAlpha(script[j]!) || isDigit(script[j]!))) j++;
      out.push({ kind: 'tag', value: script.slice(i + 1, j).toLowerCase(), line });
      i = j;
    } else if (isDigit(c)) {
      let j = i;
      while (j < n && isDigit(script[j]!)) j++;
      let value = Number(script.slice(i, j));
      const q = QUANTIFIER[(script[j] ?? '').toUpperCase()];
      if (q) {
        value *= q;
        j++;
      }
      if (value > MAX_NUMBER) throw new SieveError('number too large', line);
      out.push({ kind: 'number', value, line });
      i = j;
    } else if (isAlpha(c)) {
      let j = i;
      while (j < n && (isAlpha(script[j]!) || isDigit(script[j]!))) j++;
      const word = script.slice(i, j);
      if (word.toLowerCase() === 'text' && script[j] === ':') {
        const start = line;
        // text: [spaces] [# comment] CRLF, then lines up to a line holding only "." (RFC 5228 §2.4.2).
        let k = j + 1;
        while (k < n && (script[k] === ' ' || script[k] === '\t')) k++;
        if (script[k] === '#') while (k < n && script[k] !== '\n') k++;
        if (script[k] === '\r') k++;
        if (script[k] !== '\n') throw new SieveError('"text:" must end its line', line);
        k++;
        line++;
        const lines: string[] = [];
        for (;;) {
          if (k >= n) throw new SieveError('unterminated multi-line string', start);
          let e = script.indexOf('\n', k);
          if (e < 0) e = n;
          const text = script.slice(k, e).replace(/\r$/, '');
          k = e + 1;
          line++;
          if (text === '.') break;
          lines.push(text.startsWith('.') ? text.slice(1) : text);
        }
        out.push({ kind: 'string', value: lines.map((l) => `${l}\r\n`).join(''), line: start });
        i = k;
      } else {
        out.push({ kind: 'identifier', value: word.toLowerCase(), line });
        i = j;
      }
    } else if ('[](),;{}'.includes(c)) {
      out.push({ kind: 'special', value: c as '[', line });
      i++;
    } else throw new SieveError(`unexpected character ${JSON.stringify(c)}`, line);
  }
  return out;
}
