/**
 * IMAP flags (RFC 9051 §2.3.2) ↔ the store's JMAP keywords (RFC 8621 §4.1.1): `\Seen` is `$seen`,
 * and so on for the system flags; keywords are case-insensitive and kept lower-case. `\Recent`
 * does not exist in IMAP4rev2 and is never stored.
 */

const SYSTEM: ReadonlyArray<readonly [string, string]> = [
  ['\\Seen', '$seen'],
  ['\\Answered', '$answered'],
  ['\\Flagged', '$flagged'],
  ['\\Draft', '$draft'],
  ['\\Deleted', '$deleted'],
];

const TO_KEYWORD = new Map(SYSTEM.map(([f, k]) => [f.toLowerCase(), k]));
const TO_FLAG = new Map(SYSTEM.map(([f, k]) => [k, f]));

/** True for the keywords that are IMAP system flags. */
export function isSystemKeyword(keyword: string): boolean {
  return TO_FLAG.has(keyword);
}

/** The flags every mailbox offers (the FLAGS response). */
export const SYSTEM_FLAGS = SYSTEM.map(([f]) => f);

export type FlagResult = { readonly ok: true; readonly keyword: string } | { readonly ok: false; readonly reason: string };

/** Maps a flag from a client to a store keyword; `\Recent` and unknown `\` flags are refused. */
export function flagToKeyword(flag: string): FlagResult {
  if (flag.startsWith('\\')) {
    const k = TO_KEYWORD.get(flag.toLowerCase());
    return k ? { ok: true, keyword: k } : { ok: false, reason: `${flag.slice(0, 30)} cannot be set` };
  }
  if (!/^[\x21-\x7e]{1,255}$/.test(flag) || /[(){\]%*"\\]/.test(flag)) return { ok: false, reason: 'invalid keyword' };
  return { ok: true, keyword: flag.toLowerCase() };
}

/** How keywords are spelled on the wire: lower-case keyword → the client's spelling (store `keywordNames`). */
export type KeywordNames = ReadonlyMap<string, string>;

const NO_NAMES: KeywordNames = new Map();

/** Maps store keywords to IMAP flags for FETCH FLAGS, in the spelling clients first used. */
export function keywordsToFlags(keywords: readonly string[], names: KeywordNames = NO_NAMES): string[] {
  return keywords.map((k) => TO_FLAG.get(k) ?? names.get(k) ?? k);
}

const caches = new WeakMap<KeywordNames, Map<readonly string[], string>>();

/** The encoded `(…)` flag list of a keyword set; memoised per spelling table and interned keyword array. */
export function flagList(keywords: readonly string[], names: KeywordNames = NO_NAMES): string {
  let cache = caches.get(names);
  if (!cache) caches.set(names, (cache = new Map()));
  let s = cache.get(keywords);
  if (s === undefined) {
    s = `(${keywordsToFlags(keywords, names).join(' ')})`;
    if (cache.size > 10_000) cache.clear();
    cache.set(keywords, s);
  }
  return s;
}

const interned = new Map<string, readonly string[]>();

/**
 * One shared frozen array per distinct keyword set, so thousands of selected sessions holding the
 * same few flag combinations do not each keep their own copies.
 */
export function internKeywords(keywords: readonly string[]): readonly string[] {
  const key = keywords.join(' ');
  let v = interned.get(key);
  if (!v) {
    v = Object.freeze([...keywords]);
    if (interned.size > 50_000) interned.clear();
    interned.set(key, v);
  }
  return v;
}
