import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { toId } from '../ids.ts';
import { maxChanges } from '../standard.ts';
import { parseState, stateString, typeState } from '../state.ts';

/** Email/changes (RFC 8621 §4.3): the shared change log, the same one IMAP CONDSTORE reads. */
export const emailChanges: MethodDefinition = {
  capability: CAPABILITIES.mail,
  async run(args, ctx) {
    const accountId = ctx.account(args);
    const current = await typeState(ctx.services, accountId, 'Email');
    const since = parseState(args.requiredString('sinceState'), current);
    const c = await ctx.services.mail.changesSince(accountId, 'Email', since, maxChanges(args, 5000));
    return {
      accountId: ctx.accountId,
      oldState: stateString(since),
      newState: stateString(c.newState),
      hasMoreChanges: c.hasMoreChanges,
      created: c.created.map((id) => toId('email', id)),
      updated: c.updated.map((id) => toId('email', id)),
      destroyed: c.destroyed.map((id) => toId('email', id)),
    };
  },
};
