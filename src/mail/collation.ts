/**
 * The i;unicode-casemap collation (RFC 5051) that IMAP SORT and THREAD compare strings with
 * (RFC 5256 §7): each character title-cased (upper case here, which differs only for a few
 * digraphs), then compatibility-decomposed (NFKD); keys compare by code unit.
 */
export function casemapKey(s: string): string {
  return s.toUpperCase().normalize('NFKD');
}

/** Orders two casemap keys: negative, zero or positive. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
