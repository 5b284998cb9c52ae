import type { JsonObject } from '../args.ts';
import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidArguments, MethodError } from '../errors.ts';
import { type Comparator, type Filter, matchFilter, parseFilter, parseSort } from '../filter.ts';
import { queryWindow, windowedQueryResponse } from '../standard.ts';
import { typeState } from '../state.ts';
import { quotaObjects } from './object.ts';

/** A Quota FilterCondition (RFC 9425 §4.3). */
interface QuotaCondition {
  name?: string;
  scope?: string;
  resourceType?: string;
  type?: string;
}

function parseCondition(c: JsonObject): QuotaCondition {
  const out: QuotaCondition = {};
  for (const [k, v] of Object.entries(c)) {
    if (k !== 'name' && k !== 'scope' && k !== 'resourceType' && k !== 'type')
      throw new MethodError('unsupportedFilter', `unknown Quota filter ${JSON.stringify(k.slice(0, 100))}`);
    if (typeof v !== 'string') throw invalidArguments(`${k} must be a string`);
    out[k] = v;
  }
  return out;
}

function test(c: QuotaCondition, q: JsonObject): boolean {
  if (c.name !== undefined && !String(q['name']).toLowerCase().includes(c.name.toLowerCase())) return false;
  if (c.scope !== undefined && q['scope'] !== c.scope) return false;
  if (c.resourceType !== undefined && q['resourceType'] !== c.resourceType) return false;
  if (c.type !== undefined && !(q['types'] as string[]).includes(c.type)) return false;
  return true;
}

function compare(sort: readonly Comparator[]) {
  return (a: JsonObject, b: JsonObject) => {
    for (const c of sort) {
      const r = c.property === 'used' ? (a['used'] as number) - (b['used'] as number) : String(a['name']).localeCompare(String(b['name']));
      if (r !== 0) return c.isAscending ? r : -r;
    }
    return String(a['id']).localeCompare(String(b['id']));
  };
}

/** Quota/query (RFC 9425 §4.3): filter by name, scope, resourceType or type; sort by name or used. */
export const quotaQuery: MethodDefinition = {
  capability: CAPABILITIES.quota,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.quota);
    const window = queryWindow(args);
    const filter: Filter<QuotaCondition> | null = parseFilter(args.raw['filter'], parseCondition);
    const sort = parseSort(args.raw['sort'], new Set(['name', 'used']));
    const state = await typeState(ctx.services, accountId, 'Quota');
    const objects = quotaObjects(await ctx.services.mail.storageQuota(accountId)).filter((q) => matchFilter(filter, q, test));
    const ids = objects.sort(compare(sort)).map((q) => q['id'] as string);
    // The result moves with every use change, so clients re-query rather than ask for query changes.
    return { ...windowedQueryResponse(ctx, state, ids, window, 100), canCalculateChanges: false };
  },
};
