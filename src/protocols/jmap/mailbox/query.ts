import type { Args, JsonObject } from '../args.ts';
import { CAPABILITIES } from '../capabilities.ts';
import type { MethodContext } from '../context.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidArguments, MethodError } from '../errors.ts';
import { type Comparator, compareStrings, type Filter, matchFilter, parseFilter, parseSort } from '../filter.ts';
import { queryWindow, windowedQueryResponse } from '../standard.ts';
import { typeState } from '../state.ts';
import { mailboxObjects } from './object.ts';

/** A Mailbox FilterCondition (RFC 8621 §2.3). */
interface MailboxCondition {
  readonly parentId?: string | null;
  readonly name?: string;
  readonly role?: string | null;
  readonly hasAnyRole?: boolean;
  readonly isSubscribed?: boolean;
}

function parseCondition(c: JsonObject): MailboxCondition {
  const out: { -readonly [K in keyof MailboxCondition]: MailboxCondition[K] } = {};
  for (const [key, value] of Object.entries(c)) {
    switch (key) {
      case 'parentId':
      case 'role':
        if (value !== null && typeof value !== 'string') throw invalidArguments(`${key} must be a string or null`);
        out[key] = value;
        break;
      case 'name':
        if (typeof value !== 'string') throw invalidArguments('name must be a string');
        out.name = value;
        break;
      case 'hasAnyRole':
      case 'isSubscribed':
        if (typeof value !== 'boolean') throw invalidArguments(`${key} must be a boolean`);
        out[key] = value;
        break;
      default:
        throw new MethodError('unsupportedFilter', `unknown Mailbox filter ${JSON.stringify(key.slice(0, 100))}`);
    }
  }
  return out;
}

function test(c: MailboxCondition, m: JsonObject): boolean {
  if (c.parentId !== undefined && m['parentId'] !== c.parentId) return false;
  if (c.name !== undefined && !String(m['name']).toLowerCase().includes(c.name.toLowerCase())) return false;
  if (c.role !== undefined && m['role'] !== c.role) return false;
  if (c.hasAnyRole !== undefined && (m['role'] !== null) !== c.hasAnyRole) return false;
  if (c.isSubscribed !== undefined && m['isSubscribed'] !== c.isSubscribed) return false;
  return true;
}

const SORTS = new Set(['sortOrder', 'name', 'parentId']);

function compare(a: JsonObject, b: JsonObject, sort: readonly Comparator[]): number {
  for (const c of sort) {
    let r: number;
    if (c.property === 'sortOrder') r = (a['sortOrder'] as number) - (b['sortOrder'] as number);
    else r = compareStrings(String(a[c.property] ?? ''), String(b[c.property] ?? ''), c.collation);
    if (r !== 0) return c.isAscending ? r : -r;
  }
  return compareStrings(String(a['id']), String(b['id']), 'i;octet');
}

/** The parsed Mailbox/query arguments that decide the result list. */
export interface MailboxQuery {
  readonly filter: Filter<MailboxCondition> | null;
  readonly sort: Comparator[];
  readonly sortAsTree: boolean;
  readonly filterAsTree: boolean;
}

export function parseMailboxQuery(args: Args): MailboxQuery {
  return {
    filter: parseFilter(args.raw['filter'], parseCondition),
    sort: parseSort(args.raw['sort'], SORTS),
    sortAsTree: args.boolean('sortAsTree', false),
    filterAsTree: args.boolean('filterAsTree', false),
  };
}

/** The complete sorted result of a Mailbox query (RFC 8621 §2.3, `sortAsTree` and `filterAsTree`). */
export function runMailboxQuery(all: ReadonlyMap<string, JsonObject>, q: MailboxQuery): string[] {
  const matches = new Set<string>();
  for (const [id, m] of all) if (matchFilter(q.filter, m, test)) matches.add(id);
  if (q.filterAsTree) {
    const included = (id: string, seen = 0): boolean => {
      const m = all.get(id);
      if (!m || !matches.has(id) || seen > 100) return false;
      return m['parentId'] === null || included(m['parentId'] as string, seen + 1);
    };
    for (const id of [...matches]) if (!included(id)) matches.delete(id);
  }
  const items = [...matches].map((id) => all.get(id)!);
  if (!q.sortAsTree) return items.sort((a, b) => compare(a, b, q.sort)).map((m) => m['id'] as string);
  const children = new Map<string | null, JsonObject[]>();
  for (const m of items) {
    const parent = matches.has(m['parentId'] as string) ? (m['parentId'] as string) : null;
    children.set(parent, [...(children.get(parent) ?? []), m]);
  }
  const out: string[] = [];
  const visit = (parent: string | null) => {
    for (const m of (children.get(parent) ?? []).sort((a, b) => compare(a, b, q.sort))) {
      out.push(m['id'] as string);
      visit(m['id'] as string);
    }
  };
  visit(null);
  return out;
}

/** Mailbox/query (RFC 8621 §2.3). */
export const mailboxQuery: MethodDefinition = {
  capability: CAPABILITIES.mail,
  async run(args: Args, ctx: MethodContext) {
    const accountId = ctx.account(args);
    const q = parseMailboxQuery(args);
    const window = queryWindow(args);
    const state = await typeState(ctx.services, accountId, 'Mailbox');
    const all = await mailboxObjects(ctx.services, accountId, false, ctx.shared);
    const ids = runMailboxQuery(all, q);
    return windowedQueryResponse(ctx, state, ids, window, 10_000);
  },
};
