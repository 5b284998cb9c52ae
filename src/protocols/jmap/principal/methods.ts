import type { JsonObject } from '../args.ts';
import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidArguments, MethodError } from '../errors.ts';
import { type Filter, matchFilter, parseFilter, parseSort } from '../filter.ts';
import { getIds, getProperties, pick, queryWindow, windowedQueryResponse } from '../standard.ts';
import { PRINCIPAL_PROPERTIES, principalObjects } from './object.ts';

const KNOWN = new Set<string>(PRINCIPAL_PROPERTIES);

/** Principal/get (RFC 9670 §3.1): the standard /get; `ids: null` gives every Principal. */
export const principalGet: MethodDefinition = {
  capability: CAPABILITIES.principals,
  async run(args, ctx) {
    ctx.account(args, CAPABILITIES.principals);
    const ids = getIds(args, ctx);
    const properties = getProperties(args, KNOWN, PRINCIPAL_PROPERTIES);
    const { list, state } = await principalObjects(ctx);
    const byId = new Map(list.map((p) => [p['id'] as string, p]));
    const found: JsonObject[] = [];
    const notFound: string[] = [];
    for (const id of ids ?? byId.keys()) {
      const p = byId.get(id);
      if (p) found.push(pick(p, properties));
      else notFound.push(id);
    }
    return { accountId: ctx.accountId, state, list: found, notFound };
  },
};

/**
 * Principal/changes (RFC 9670 §3.2): the state is a digest, not a log, so any other state than
 * the current one is `cannotCalculateChanges` and the client fetches the Principals again.
 */
export const principalChanges: MethodDefinition = {
  capability: CAPABILITIES.principals,
  async run(args, ctx) {
    ctx.account(args, CAPABILITIES.principals);
    const since = args.requiredString('sinceState');
    const { state } = await principalObjects(ctx);
    if (since !== state) throw new MethodError('cannotCalculateChanges', 'the Principals changed; get them again');
    return { accountId: ctx.accountId, oldState: state, newState: state, hasMoreChanges: false, created: [], updated: [], destroyed: [] };
  },
};

/** A Principal FilterCondition (RFC 9670 §3.5.1). */
interface PrincipalCondition {
  accountIds?: string[];
  email?: string;
  name?: string;
  text?: string;
  type?: string;
  timeZone?: string;
}

function parseCondition(c: JsonObject): PrincipalCondition {
  const out: PrincipalCondition = {};
  for (const [k, v] of Object.entries(c)) {
    if (k === 'accountIds') {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw invalidArguments('accountIds must be an array of Ids');
      out.accountIds = v as string[];
    } else if (k === 'email' || k === 'name' || k === 'text' || k === 'type' || k === 'timeZone') {
      if (typeof v !== 'string') throw invalidArguments(`${k} must be a string`);
      out[k] = v;
    } else throw new MethodError('unsupportedFilter', `unknown Principal filter ${JSON.stringify(k.slice(0, 100))}`);
  }
  return out;
}

function test(c: PrincipalCondition, p: JsonObject): boolean {
  const has = (field: unknown, needle: string) =>
    String(field ?? '')
      .toLowerCase()
      .includes(needle.toLowerCase());
  if (c.accountIds && !c.accountIds.some((id) => Object.hasOwn((p['accounts'] as JsonObject | null) ?? {}, id))) return false;
  if (c.email !== undefined && !has(p['email'], c.email)) return false;
  if (c.name !== undefined && !has(p['name'], c.name)) return false;
  if (c.text !== undefined && !has(p['name'], c.text) && !has(p['email'], c.text) && !has(p['description'], c.text)) return false;
  if (c.type !== undefined && p['type'] !== c.type) return false;
  if (c.timeZone !== undefined && p['timeZone'] !== c.timeZone) return false;
  return true;
}

/** Principal/query (RFC 9670 §3.5): filter by accountIds, email, name, text, type or timeZone; sorted by name. */
export const principalQuery: MethodDefinition = {
  capability: CAPABILITIES.principals,
  async run(args, ctx) {
    ctx.account(args, CAPABILITIES.principals);
    const window = queryWindow(args);
    const filter: Filter<PrincipalCondition> | null = parseFilter(args.raw['filter'], parseCondition);
    const sort = parseSort(args.raw['sort'], new Set(['name']));
    const { list, state } = await principalObjects(ctx);
    const descending = sort[0] && !sort[0].isAscending;
    const ids = list
      .filter((p) => matchFilter(filter, p, test))
      .sort((a, b) => String(a['name']).localeCompare(String(b['name'])) * (descending ? -1 : 1))
      .map((p) => p['id'] as string);
    const answer = windowedQueryResponse(ctx, 0, ids, window, 1000);
    return { ...answer, queryState: state, canCalculateChanges: false };
  },
};
