import type { Args } from '../args.ts';
import { CAPABILITIES, EMAIL_SORT_OPTIONS } from '../capabilities.ts';
import type { MethodContext } from '../context.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidArguments } from '../errors.ts';
import { parseSort } from '../filter.ts';
import { toId } from '../ids.ts';
import { applyWindow, queryWindow } from '../standard.ts';
import { stateString, typeState } from '../state.ts';
import { parseEmailFilter } from './filter.ts';
import type { EmailQuery } from '../../../mail/query/email-query.ts';

const SORTS = new Set<string>(EMAIL_SORT_OPTIONS);
const KEYWORD_SORTS = new Set(['hasKeyword', 'allInThreadHaveKeyword', 'someInThreadHaveKeyword']);

/** Most ids one Email/query answer carries, whatever `limit` asks for. */
export const MAX_QUERY_LIMIT = 1000;

/** Parses `filter`, `sort` and `collapseThreads` (RFC 8621 §4.4). */
export function parseEmailQuery(args: Args, ctx: MethodContext): EmailQuery {
  const sort = parseSort(args.raw['sort'], SORTS);
  for (const c of sort) if (KEYWORD_SORTS.has(c.property) && !c.keyword) throw invalidArguments(`sorting by ${c.property} needs a keyword`);
  return {
    filter: parseEmailFilter(args.raw['filter'], (id) => ctx.resolveId(id)),
    sort,
    collapseThreads: args.boolean('collapseThreads', false),
  };
}

/** Email/query (RFC 8621 §4.4): the standard /query with the Email filters, sorts and `collapseThreads`. */
export const emailQuery: MethodDefinition = {
  capability: CAPABILITIES.mail,
  async run(args, ctx) {
    const accountId = ctx.account(args);
    const q = parseEmailQuery(args, ctx);
    const window = queryWindow(args);
    const state = await typeState(ctx.services, accountId, 'Email');
    const limit = Math.min(window.limit ?? MAX_QUERY_LIMIT, MAX_QUERY_LIMIT);
    const page = window.anchor === undefined && window.position >= 0 ? { start: window.position, limit } : null;
    const r = await ctx.services.mail.emailQueries.run(accountId, q, page, window.calculateTotal, ctx.shared?.readerId);
    const result = r.complete
      ? applyWindow(
          r.ids.map((id) => toId('email', id)),
          window,
          MAX_QUERY_LIMIT,
        )
      : { position: window.position, ids: r.ids.map((id) => toId('email', id)) };
    const limited = window.limit === undefined || window.limit > MAX_QUERY_LIMIT;
    return {
      accountId: ctx.accountId,
      queryState: stateString(state),
      canCalculateChanges: true,
      position: result.position,
      ids: result.ids,
      ...(window.calculateTotal && r.total !== undefined ? { total: r.total } : {}),
      ...(limited ? { limit: MAX_QUERY_LIMIT } : {}),
    };
  },
};
