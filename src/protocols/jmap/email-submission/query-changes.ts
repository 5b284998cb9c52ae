import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { toId } from '../ids.ts';
import { queryChangesResponse } from '../query-changes.ts';
import { parseState, typeState } from '../state.ts';
import { runSubmissionQuery } from './query.ts';

/** EmailSubmission/queryChanges (RFC 8621 §7.4). */
export const emailSubmissionQueryChanges: MethodDefinition = {
  capability: CAPABILITIES.submission,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.submission);
    const current = await typeState(ctx.services, accountId, 'EmailSubmission');
    const since = parseState(args.requiredString('sinceQueryState'), current);
    const c = await ctx.services.mail.changesSince(accountId, 'EmailSubmission', since, Number.MAX_SAFE_INTEGER);
    return queryChangesResponse({
      accountId: ctx.accountId,
      oldState: since,
      newState: current,
      currentIds: await runSubmissionQuery(ctx, accountId, args),
      touched: {
        created: new Set(c.created.map((id) => toId('submission', id))),
        changed: new Set([...c.updated, ...c.destroyed].map((id) => toId('submission', id))),
      },
      maxChanges: args.uint('maxChanges'),
      calculateTotal: args.boolean('calculateTotal', false),
    });
  },
};
