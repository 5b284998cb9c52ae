import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { changesArguments, changesResponse } from '../changes.ts';

/**
 * Thread/changes (RFC 8621 §3.2): the Thread change log; a thread whose last Email went away is
 * reported destroyed.
 */
export const threadChanges: MethodDefinition = {
  capability: CAPABILITIES.mail,
  async run(args, ctx) {
    const accountId = ctx.account(args);
    const { since, max } = await changesArguments(args, ctx, accountId, 'Thread');
    const c = await ctx.services.mail.changesSince(accountId, 'Thread', since, max);
    const candidates = [...c.created, ...c.updated];
    const alive = await ctx.services.mail.index.liveThreads(accountId, candidates);
    const destroyed = [...c.destroyed, ...c.updated.filter((id) => !alive.has(id))];
    return changesResponse(ctx, 'thread', since, {
      newState: c.newState,
      hasMoreChanges: c.hasMoreChanges,
      created: c.created.filter((id) => alive.has(id)),
      updated: c.updated.filter((id) => alive.has(id)),
      destroyed,
    });
  },
};
