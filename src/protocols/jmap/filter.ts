import { isObject, type JsonObject } from './args.ts';
import { invalidArguments, MethodError } from './errors.ts';
import type { JsonValue } from './i-json.ts';
import type { Comparator, Filter } from '../../mail/query/filter.ts';

export { type Comparator, compareStrings, type Filter, matchFilter } from '../../mail/query/filter.ts';

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
