import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { toId } from '../ids.ts';
import { maxChanges } from '../standard.ts';
import { parseState, stateString, typeState } from '../state.ts';

/** Identity/changes (RFC 8621 §6.2). */
export const identityChanges: MethodDefinition = {
  capability: CAPABILITIES.submission,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.submission);
    const current = await typeState(ctx.services, accountId, 'Identity');
    const since = parseState(args.requiredString('sinceState'), current);
    const c = await ctx.services.mail.changesSince(accountId, 'Identity', since, maxChanges(args, 5000));
    return {
      accountId: ctx.accountId,
      oldState: stateString(since),
      newState: stateString(c.newState),
      hasMoreChanges: c.hasMoreChanges,
      created: c.created.map((id) => toId('identity', id)),
      updated: c.updated.map((id) => toId('identity', id)),
      destroyed: c.destroyed.map((id) => toId('identity', id)),
    };
  },
};
