import type { Budget } from './budget.ts';
import { SieveError } from './errors.ts';

/** The comparators this server knows (RFC 4790 §9.3–9.4, RFC 5228 §2.7.3). */
export const COMPARATORS = ['i;octet', 'i;ascii-casemap', 'i;ascii-numeric'] as const;
export type ComparatorName = (typeof COMPARATORS)[number];

/** A match type (RFC 5228 §2.7.1) or a relational one (RFC 5231 §4–5). */
export type MatchType =
  | { readonly kind: 'is' }
  | { readonly kind: 'contains' }
  | { readonly kind: 'matches' }
  | { readonly kind: 'value'; readonly op: RelOp }
  | { readonly kind: 'count'; readonly op: RelOp };

export const REL_OPS = ['gt', 'ge', 'lt', 'le', 'eq', 'ne'] as const;
export type RelOp = (typeof REL_OPS)[number];

/** ASCII-only case folding (i;ascii-casemap, RFC 4790 §9.2): other characters stay as they are. */
export function asciiLower(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32)) : s;
}

/** i;ascii-numeric's value (RFC 4790 §9.1.1): the leading digits, or Infinity when there are none. */
function numeric(s: string): number {
  const m = /^[0-9]+/.exec(s);
  return m ? Number(m[0]) : Number.POSITIVE_INFINITY;
}

/** -1, 0 or 1 for `a` against `b` under the comparator's ordering (RFC 4790 §4.2). */
export function order(comparator: ComparatorName, a: string, b: string): number {
  if (comparator === 'i;ascii-numeric') {
    const x = numeric(a);
    const y = numeric(b);
    return x === y ? 0 : x < y ? -1 : 1;
  }
  const x = comparator === 'i;ascii-casemap' ? asciiLower(a) : a;
  const y = comparator === 'i;ascii-casemap' ? asciiLower(b) : b;
  return x === y ? 0 : x < y ? -1 : 1;
}

/** Whether an ordering result satisfies a relational operator (RFC 5231 §4). */
export function relation(op: RelOp, cmp: number): boolean {
  switch (op) {
    case 'gt':
      return cmp > 0;
    case 'ge':
      return cmp >= 0;
    case 'lt':
      return cmp < 0;
    case 'le':
      return cmp <= 0;
    case 'eq':
      return cmp === 0;
    case 'ne':
      return cmp !== 0;
  }
}

type Item = { readonly kind: 'char'; readonly c: string } | { readonly kind: '?' } | { readonly kind: '*' };

function patternItems(pattern: string): Item[] {
  const out: Item[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) out.push({ kind: 'char', c: pattern[++i]! });
    else if (c === '*') {
      // Runs of "*" match what one does; each still yields a (possibly empty) match variable.
      out.push({ kind: '*' });
    } else if (c === '?') out.push({ kind: '?' });
    else out.push({ kind: 'char', c });
  }
  return out;
}

/**
 * `:matches` (RFC 5228 §2.7.1): `*` is any run of characters, `?` one, `\` quotes the next. No
 * regular expressions and no exponential backtracking: only the latest `*` is ever widened, so a
 * match costs at most text × pattern steps, each taken from the budget. Returns the text matched
 * by each wildcard in order (RFC 5229 §3.2 match variables, `*` as short as possible), or null.
 */
export function globMatch(text: string, pattern: string, caseFold: boolean, budget: Budget): string[] | null {
  const s = caseFold ? asciiLower(text) : text;
  const items = patternItems(caseFold ? asciiLower(pattern) : pattern);
  const starts: number[] = new Array(items.length).fill(0);
  const ends: number[] = new Array(items.length).fill(0);
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  while (t < s.length) {
    budget.spend(1);
    const item = items[p];
    if (item && item.kind !== '*' && (item.kind === '?' || item.c === s[t])) {
      starts[p] = t;
      ends[p] = t + 1;
      p++;
      t++;
    } else if (item?.kind === '*') {
      starP = p;
      starT = t;
      starts[p] = t;
      ends[p] = t;
      p++;
    } else if (starP >= 0) {
      starT++;
      ends[starP] = starT;
      p = starP + 1;
      t = starT;
    } else return null;
  }
  while (items[p]?.kind === '*') {
    starts[p] = t;
    ends[p] = t;
    p++;
  }
  if (p !== items.length) return null;
  const captures: string[] = [];
  for (const [i, item] of items.entries()) if (item.kind !== 'char') captures.push(text.slice(starts[i], ends[i]));
  return captures;
}

/** The outcome of matching one value against one key: whether it matched, and `:matches` captures. */
export type KeyMatch = { readonly matched: false } | { readonly matched: true; readonly captures?: readonly string[] };

/**
 * Matches one value against one key under a comparator and match type (RFC 5228 §2.7, RFC 5231
 * §4 for `:value`); `:count` is handled by the caller, which counts values first.
 */
export function matchValue(comparator: ComparatorName, type: MatchType, value: string, key: string, budget: Budget): KeyMatch {
  budget.spend(1 + Math.min(value.length, key.length));
  switch (type.kind) {
    case 'is':
      return { matched: order(comparator, value, key) === 0 };
    case 'value':
      return { matched: relation(type.op, order(comparator, value, key)) };
    case 'contains': {
      if (comparator === 'i;ascii-numeric') throw new SieveError('i;ascii-numeric does not support :contains');
      budget.spend(value.length);
      const fold = comparator === 'i;ascii-casemap';
      return { matched: (fold ? asciiLower(value) : value).includes(fold ? asciiLower(key) : key) };
    }
    case 'matches': {
      if (comparator === 'i;ascii-numeric') throw new SieveError('i;ascii-numeric does not support :matches');
      const captures = globMatch(value, key, comparator === 'i;ascii-casemap', budget);
      return captures ? { matched: true, captures: [value, ...captures] } : { matched: false };
    }
    case 'count':
      throw new SieveError(':count compares a number of values, not a value');
  }
}
