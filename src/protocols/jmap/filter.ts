import { isObject, type JsonObject } from './args.ts';
import { invalidArguments, MethodError } from './errors.ts';
import type { JsonValue } from './i-json.ts';

/** A /query filter (RFC 8620 §5.5): a FilterOperator tree whose leaves are FilterConditions. */
export type Filter<C> =
  | { readonly op: 'AND' | 'OR' | 'NOT'; readonly conditions: readonly Filter<C>[] }
  | { readonly op: 'condition'; readonly condition: C };

const MAX_FILTER_DEPTH = 32;
const MAX_FILTER_NODES = 1000;

/**
 * Parses a filter tree; `condition` validates one FilterCondition (throwing `unsupportedFilter`
 * for properties it does not know). An `operator` other than AND/OR/NOT is `invalidArguments`.
 */
export function parseFilter<C>(value: JsonValue | undefined, condition: (c: JsonObject) => C): Filter<C> | null {
  if (value === undefined || value === null) return null;
  let nodes = 0;
  const walk = (v: JsonValue, depth: number): Filter<C> => {
    if (++nodes > MAX_FILTER_NODES || depth > MAX_FILTER_DEPTH) throw new MethodError('unsupportedFilter', 'the filter is too complex');
    if (!isObject(v)) throw invalidArguments('a filter must be an object');
    if (Object.hasOwn(v, 'operator')) {
      const op = v['operator'];
      if (op !== 'AND' && op !== 'OR' && op !== 'NOT') throw invalidArguments('operator must be AND, OR or NOT');
      const conditions = v['conditions'];
      if (!Array.isArray(conditions)) throw invalidArguments('a FilterOperator needs a conditions array');
      for (const key of Object.keys(v))
        if (key !== 'operator' && key !== 'conditions') throw invalidArguments(`unknown FilterOperator member ${key}`);
      return { op, conditions: conditions.map((c) => walk(c, depth + 1)) };
    }
    return { op: 'condition', condition: condition(v) };
  };
  return walk(value, 0);
}

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

const COLLATIONS = new Set(['i;ascii-casemap', 'i;ascii-numeric', 'i;octet', 'i;unicode-casemap']);

/** Parses the `sort` argument; unknown properties or collations are `unsupportedSort`. */
export function parseSort(value: JsonValue | undefined, properties: ReadonlySet<string>): Comparator[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidArguments('sort must be an array of Comparators');
  return value.map((c) => {
    if (!isObject(c) || typeof c['property'] !== 'string') throw invalidArguments('a Comparator needs a property');
    if (!properties.has(c['property']))
      throw new MethodError('unsupportedSort', `cannot sort by ${JSON.stringify(c['property'].slice(0, 100))}`);
    const isAscending = c['isAscending'] ?? true;
    if (typeof isAscending !== 'boolean') throw invalidArguments('isAscending must be a boolean');
    const collation = c['collation'] ?? 'i;unicode-casemap';
    if (typeof collation !== 'string' || !COLLATIONS.has(collation)) throw new MethodError('unsupportedSort', 'unsupported collation');
    const keyword = c['keyword'];
    if (keyword !== undefined && typeof keyword !== 'string') throw invalidArguments('keyword must be a string');
    return { property: c['property'], isAscending, collation, ...(keyword !== undefined ? { keyword: keyword.toLowerCase() } : {}) };
  });
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
