import { FingerpostError } from '../../core/errors.ts';

/**
 * Text matching for Email/query's text conditions and SearchSnippet highlights (RFC 8621 §4.4.1):
 * case-insensitive; outside quotes, white space separates tokens that must all be present, and a
 * token matches at the start of a word (so `bus` finds "buses" but `here` does not find "there");
 * text in double or single quotes is a phrase that must appear as those exact words in that
 * order (`\"`, `\'` and `\\` escape inside). Scripts written without spaces between words (Han,
 * Hiragana, Katakana, Thai, Lao, Khmer, Myanmar) match anywhere.
 */

/** Longest text condition accepted, in characters (bounds the work one filter can ask for). */
export const MAX_TEXT_QUERY = 1000;
/** Most tokens and phrases one text condition may hold. */
export const MAX_TEXT_TERMS = 32;

/** One token or phrase of a text condition. */
export interface TextTerm {
  /** The words as given, lower-cased. */
  readonly words: readonly string[];
  readonly phrase: boolean;
  /** Finds the term (global, case-insensitive, Unicode). */
  readonly pattern: RegExp;
}

const WORD = '\\p{L}\\p{N}\\p{M}';
const WORD_CHAR = /^[\p{L}\p{N}\p{M}]/u;
const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

function escapePattern(s: string): string {
  // Only syntax characters may be escaped in a Unicode-mode pattern.
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

function termOf(words: readonly string[], phrase: boolean): TextTerm {
  const first = words[0]!;
  const last = words.at(-1)!;
  // A word start: nothing word-like before it, unless the word cannot be told apart from its neighbours.
  const start = WORD_CHAR.test(first) && !UNSPACED.test(first) ? `(?<![${WORD}])` : '';
  const end = phrase && WORD_CHAR.test(last.slice(-1)) && !UNSPACED.test(last) ? `(?![${WORD}])` : '';
  const body = words.map(escapePattern).join(`[^${WORD}]+`);
  return { words, phrase, pattern: new RegExp(`${start}${body}${end}`, 'giu') };
}

/** Splits a text condition into tokens and quoted phrases; too long or too many throws `invalid_argument`. */
export function parseTextQuery(value: string): TextTerm[] {
  if (value.length > MAX_TEXT_QUERY)
    throw new FingerpostError('invalid_argument', `a text filter may hold at most ${MAX_TEXT_QUERY} characters`);
  const terms: TextTerm[] = [];
  let i = 0;
  while (i < value.length) {
    const c = value[i]!;
    if (/\s/u.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let phrase = '';
      i++;
      while (i < value.length && value[i] !== c) {
        if (value[i] === '\\' && i + 1 < value.length && `"'\\`.includes(value[i + 1]!)) i++;
        phrase += value[i];
        i++;
      }
      i++;
      const words = phrase.toLowerCase().split(/\s+/u).filter(Boolean);
      if (words.length) terms.push(termOf(words, true));
      continue;
    }
    let token = '';
    while (i < value.length && !/\s/u.test(value[i]!)) token += value[i++];
    terms.push(termOf([token.toLowerCase()], false));
  }
  if (terms.length > MAX_TEXT_TERMS)
    throw new FingerpostError('invalid_argument', `a text filter may hold at most ${MAX_TEXT_TERMS} words and phrases`);
  return terms;
}

/** True when every term is found in `text`. No terms match everything. */
export function matchesAll(text: string, terms: readonly TextTerm[]): boolean {
  return terms.every((t) => {
    t.pattern.lastIndex = 0;
    return t.pattern.test(text);
  });
}

/** The longest literal that every match must contain: a substring the store can pre-filter on. */
export function prefilterLiteral(terms: readonly TextTerm[]): string {
  let best = '';
  for (const t of terms) for (const w of t.words) if (w.length > best.length) best = w;
  return best;
}

/** Where the terms occur in `text`, each widened to the end of the word it starts, sorted and not overlapping. */
export function matchRanges(text: string, terms: readonly TextTerm[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  const wordEnd = new RegExp(`[${WORD}]*`, 'uy');
  for (const t of terms) {
    t.pattern.lastIndex = 0;
    for (let m = t.pattern.exec(text); m; m = t.pattern.exec(text)) {
      let end = m.index + m[0].length;
      if (!t.phrase && !UNSPACED.test(m[0])) {
        wordEnd.lastIndex = end;
        end += wordEnd.exec(text)?.[0].length ?? 0;
      }
      if (m[0].length === 0) t.pattern.lastIndex++;
      ranges.push([m.index, end]);
    }
  }
  ranges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const out: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = out.at(-1);
    if (last && r[0] < last[1]) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}
