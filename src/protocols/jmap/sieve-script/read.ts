import type { JsonObject } from '../args.ts';
import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidArguments, MethodError } from '../errors.ts';
import { compareStrings, matchFilter, parseFilter, parseSort } from '../filter.ts';
import { getIds, getProperties, getResponse, queryWindow, windowedQueryResponse } from '../standard.ts';
import { loadScripts, SCRIPT_PROPERTIES, scriptObject, scriptStore, scriptsState } from './store.ts';

const KNOWN = new Set<string>(SCRIPT_PROPERTIES);
const MAX_QUERY = 1000;

/** SieveScript/get (RFC 9661 §2.3): every script, or those named by `ids`. */
export const sieveScriptGet: MethodDefinition = {
  capability: CAPABILITIES.sieve,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.sieve);
    const ids = getIds(args, ctx);
    const properties = getProperties(args, KNOWN, SCRIPT_PROPERTIES);
    const scripts = await loadScripts(scriptStore(ctx), accountId);
    const objects = new Map(scripts.map((s) => [scriptObject(s).id, scriptObject(s)]));
    return getResponse(ctx, scriptsState(scripts), ids ?? [...objects.keys()], properties, (id) => objects.get(id));
  },
};

/**
 * SieveScript/changes (RFC 8620 §5.2 for RFC 9661 §2): the state is a digest, not a log, so any state other
 * than the current one is `cannotCalculateChanges` and the client fetches the scripts again.
 */
export const sieveScriptChanges: MethodDefinition = {
  capability: CAPABILITIES.sieve,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.sieve);
    const since = args.requiredString('sinceState');
    const state = scriptsState(await loadScripts(scriptStore(ctx), accountId));
    if (since !== state) throw new MethodError('cannotCalculateChanges', 'the Sieve scripts changed; get them again');
    return { accountId: ctx.accountId, oldState: state, newState: state, hasMoreChanges: false, created: [], updated: [], destroyed: [] };
  },
};

/** A SieveScript FilterCondition (RFC 9661 §2.5). */
interface ScriptCondition {
  name?: string;
  isActive?: boolean;
}

function parseCondition(c: JsonObject): ScriptCondition {
  const out: ScriptCondition = {};
  for (const [k, v] of Object.entries(c)) {
    if (k === 'name') {
      if (typeof v !== 'string') throw invalidArguments('name must be a string');
      out.name = v;
    } else if (k === 'isActive') {
      if (typeof v !== 'boolean') throw invalidArguments('isActive must be a boolean');
      out.isActive = v;
    } else throw new MethodError('unsupportedFilter', `unknown SieveScript filter ${JSON.stringify(k.slice(0, 100))}`);
  }
  return out;
}

/**
 * SieveScript/query (RFC 9661 §2.5): filter on `name` (substring, case-insensitive) and
 * `isActive`; sort on `name` or `isActive`. The state is the /get state, so the query state changes with it.
 */
export const sieveScriptQuery: MethodDefinition = {
  capability: CAPABILITIES.sieve,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.sieve);
    const filter = parseFilter(args.raw['filter'], parseCondition);
    const sort = parseSort(args.raw['sort'], new Set(['name', 'isActive']));
    const window = queryWindow(args);
    const scripts = await loadScripts(scriptStore(ctx), accountId);
    const objects = scripts.map(scriptObject);
    const matching = objects.filter((o) =>
      matchFilter(
        filter,
        o,
        (c, item) =>
          (c.name === undefined || item.name.toLowerCase().includes(c.name.toLowerCase())) &&
          (c.isActive === undefined || item.isActive === c.isActive),
      ),
    );
    matching.sort((a, b) => {
      for (const c of sort) {
        const d = c.property === 'name' ? compareStrings(a.name, b.name, c.collation) : Number(a.isActive) - Number(b.isActive);
        if (d) return c.isAscending ? d : -d;
      }
      return compareStrings(a.name, b.name, 'i;octet');
    });
    const response = windowedQueryResponse(
      ctx,
      0,
      matching.map((o) => o.id),
      window,
      MAX_QUERY,
    );
    return { ...response, queryState: scriptsState(scripts), canCalculateChanges: false };
  },
};
