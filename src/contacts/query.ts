import type { VcardLine } from './vcard.ts';

/**
 * CardDAV addressbook-query filters (RFC 6352 §10.5) on a card's content lines: prop-filters
 * combined by anyof/allof, each with is-not-defined, text-matches (equals, contains, starts-with,
 * ends-with under i;ascii-casemap, i;unicode-casemap or i;octet, optionally negated) and
 * param-filters.
 */

export type MatchType = 'equals' | 'contains' | 'starts-with' | 'ends-with';

export interface CardTextMatch {
  readonly text: string;
  readonly collation: string;
  readonly negate: boolean;
  readonly matchType: MatchType;
}

export interface CardParamFilter {
  readonly name: string;
  readonly isNotDefined: boolean;
  readonly textMatch?: CardTextMatch;
}

export interface CardPropFilter {
  readonly name: string;
  readonly test: 'anyof' | 'allof';
  readonly isNotDefined: boolean;
  readonly textMatches: readonly CardTextMatch[];
  readonly params: readonly CardParamFilter[];
}

export interface CardFilter {
  readonly test: 'anyof' | 'allof';
  readonly props: readonly CardPropFilter[];
}

/** Collations a CardDAV server supports (RFC 6352 §8.3). */
export const CARD_COLLATIONS = new Set(['i;ascii-casemap', 'i;unicode-casemap', 'i;octet']);

function fold(text: string, collation: string): string {
  if (collation === 'i;octet') return text;
  if (collation === 'i;ascii-casemap') return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return text.toLowerCase();
}

/** RFC 6352 §10.5.4 text-match. */
export function cardTextMatches(value: string, m: CardTextMatch): boolean {
  const v = fold(value, m.collation);
  const t = fold(m.text, m.collation);
  const hit =
    m.matchType === 'equals'
      ? v === t
      : m.matchType === 'starts-with'
        ? v.startsWith(t)
        : m.matchType === 'ends-with'
          ? v.endsWith(t)
          : v.includes(t);
  return m.negate ? !hit : hit;
}

function unescaped(value: string): string {
  return value.replace(/\\([\\,;nN])/g, (_m, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}

function combine<T>(items: readonly T[], test: 'anyof' | 'allof', f: (t: T) => boolean): boolean {
  if (!items.length) return true;
  return test === 'allof' ? items.every(f) : items.some(f);
}

function propMatches(lines: readonly VcardLine[], f: CardPropFilter): boolean {
  const props = lines.filter((l) => l.name === f.name.toUpperCase());
  if (f.isNotDefined) return props.length === 0;
  if (!props.length) return false;
  return props.some((p) => {
    const checks: Array<() => boolean> = [
      ...f.textMatches.map((m) => () => cardTextMatches(unescaped(p.value), m)),
      ...f.params.map((pf) => () => {
        const values = p.params.filter(([n]) => n === pf.name.toUpperCase()).map(([, v]) => v);
        if (pf.isNotDefined) return values.length === 0;
        if (!values.length) return false;
        return !pf.textMatch || values.some((v) => v.split(',').some((x) => cardTextMatches(x, pf.textMatch!)));
      }),
    ];
    return combine(checks, f.test, (c) => c());
  });
}

/** Whether a card's lines match the filter (an empty filter matches every card). */
export function cardMatches(lines: readonly VcardLine[], filter: CardFilter): boolean {
  return combine(filter.props, filter.test, (p) => propMatches(lines, p));
}
