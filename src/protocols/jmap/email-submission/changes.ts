import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { toId } from '../ids.ts';
import { maxChanges } from '../standard.ts';
import { parseState, stateString, typeState } from '../state.ts';

/** EmailSubmission/changes (RFC 8621 §7.2). */
export const emailSubmissionChanges: MethodDefinition = {
  capability: CAPABILITIES.submission,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.submission);
    const current = await typeState(ctx.services, accountId, 'EmailSubmission');
    const since = parseState(args.requiredString('sinceState'), current);
    const c = await ctx.services.mail.changesSince(accountId, 'EmailSubmission', since, maxChanges(args, 5000));
    return {
      accountId: ctx.accountId,
      oldState: stateString(since),
      newState: stateString(c.newState),
      hasMoreChanges: c.hasMoreChanges,
      created: c.created.map((id) => toId('submission', id)),
      updated: c.updated.map((id) => toId('submission', id)),
      destroyed: c.destroyed.map((id) => toId('submission', id)),
    };
  },
};
