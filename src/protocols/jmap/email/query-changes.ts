import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { MethodError } from '../errors.ts';
import type { Filter } from '../filter.ts';
import { toId } from '../ids.ts';
import { queryChangesResponse } from '../query-changes.ts';
import { parseState, typeState } from '../state.ts';
import type { EmailCondition } from './filter.ts';
import { parseEmailQuery } from './query.ts';
import type { EmailQuery } from '../../../mail/query/email-query.ts';

/** Most changes one Email/queryChanges computes before answering `cannotCalculateChanges`. */
const MAX_TRACKED = 50_000;

function dependsOnThreads(q: EmailQuery): boolean {
  const walk = (f: Filter<EmailCondition>): boolean =>
    f.op === 'condition'
      ? f.condition.allInThreadHaveKeyword !== undefined ||
        f.condition.someInThreadHaveKeyword !== undefined ||
        f.condition.noneInThreadHaveKeyword !== undefined
      : f.conditions.some(walk);
  return q.collapseThreads || (q.filter !== null && walk(q.filter)) || q.sort.some((c) => c.property.endsWith('InThreadHaveKeyword'));
}

/**
 * Email/queryChanges (RFC 8621 §4.5): every Email changed since the old state is reported removed
 * and, when it still matches, added at its new index. When the query depends on threads
 * (collapseThreads, thread keyword filters), every Email of a changed thread counts as changed.
 */
export const emailQueryChanges: MethodDefinition = {
  capability: CAPABILITIES.mail,
  async run(args, ctx) {
    const accountId = ctx.account(args);
    const q = parseEmailQuery(args, ctx);
    const max = args.uint('maxChanges');
    const current = await typeState(ctx.services, accountId, 'Email');
    const since = parseState(args.requiredString('sinceQueryState'), current);
    const changes = await ctx.services.mail.changesSince(accountId, 'Email', since, MAX_TRACKED);
    if (changes.hasMoreChanges) throw new MethodError('cannotCalculateChanges', 'too many changes since that state');
    const changed = new Set([...changes.updated, ...changes.destroyed].map((id) => toId('email', id)));
    const created = new Set(changes.created.map((id) => toId('email', id)));
    if (dependsOnThreads(q)) {
      // Another Email of the thread changing can move this one in or out of the result.
      const logged = await ctx.services.mail.changesSince(accountId, 'Thread', since, MAX_TRACKED);
      const threads = new Set([...logged.created, ...logged.updated]);
      for (const t of await ctx.services.mail.index.threadsOf(accountId, [...changes.created, ...changes.updated])) threads.add(t);
      if (threads.size > MAX_TRACKED) throw new MethodError('cannotCalculateChanges', 'too many changes since that state');
      for (const t of threads) {
        for (const id of await ctx.services.mail.threadMessages(accountId, t)) changed.add(toId('email', id));
      }
    }
    const { ids } = await ctx.services.mail.emailQueries.run(accountId, q, null, false, ctx.shared?.readerId);
    return queryChangesResponse({
      accountId: ctx.accountId,
      oldState: since,
      newState: current,
      currentIds: ids.map((id) => toId('email', id)),
      touched: { created, changed },
      maxChanges: max,
      calculateTotal: args.boolean('calculateTotal', false),
    });
  },
};
