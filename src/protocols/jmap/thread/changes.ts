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
    const alive = new Set<number>();
    for (let i = 0; i < candidates.length; i += 500) {
      const rows = await ctx.services.db.kysely
        .selectFrom('messages')
        .select('thread_id')
        .distinct()
        .where('account_id', '=', accountId)
        .where('thread_id', 'in', candidates.slice(i, i + 500))
        .execute();
      for (const r of rows) alive.add(r.thread_id);
    }
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
