/** A query filter (RFC 8620 §5.5): a FilterOperator tree whose leaves are FilterConditions. */
export type Filter<C> =
  | { readonly op: 'AND' | 'OR' | 'NOT'; readonly conditions: readonly Filter<C>[] }
  | { readonly op: 'condition'; readonly condition: C };

/** Evaluates a filter tree against one object (NOT: none of its conditions match). */
export function matchFilter<C, T>(filter: Filter<C> | null, item: T, test: (condition: C, item: T) => boolean): boolean {
  if (!filter) return true;
  switch (filter.op) {
    case 'condition':
      return test(filter.condition, item);
    case 'AND':
      return filter.conditions.every((c) => matchFilter(c, item, test));
    case 'OR':
      return filter.conditions.some((c) => matchFilter(c, item, test));
    case 'NOT':
      return !filter.conditions.some((c) => matchFilter(c, item, test));
  }
}

/** One sort Comparator (RFC 8620 §5.5). */
export interface Comparator {
  readonly property: string;
  readonly isAscending: boolean;
  readonly collation: string;
  /** RFC 8621 §4.4.2: the keyword of the keyword-based Email sorts. */
  readonly keyword?: string;
}

/** Compares two strings under a collation (RFC 4790); unicode-casemap approximated by case folding. */
export function compareStrings(a: string, b: string, collation: string): number {
  switch (collation) {
    case 'i;octet':
      return Buffer.compare(Buffer.from(a), Buffer.from(b));
    case 'i;ascii-numeric': {
      const na = /^\d+/.exec(a)?.[0];
      const nb = /^\d+/.exec(b)?.[0];
      if (na === undefined || nb === undefined) return na === nb ? 0 : na === undefined ? 1 : -1;
      return BigInt(na) < BigInt(nb) ? -1 : BigInt(na) > BigInt(nb) ? 1 : 0;
    }
    case 'i;ascii-casemap': {
      const fa = a.replace(/[A-Z]/g, (c) => c.toLowerCase());
      const fb = b.replace(/[A-Z]/g, (c) => c.toLowerCase());
      return fa < fb ? -1 : fa > fb ? 1 : 0;
    }
    default: {
      const fa = a.normalize('NFKD').toLowerCase();
      const fb = b.normalize('NFKD').toLowerCase();
      return fa < fb ? -1 : fa > fb ? 1 : 0;
    }
  }
}
