import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { toId } from '../ids.ts';
import { maxChanges } from '../standard.ts';
import { parseState, stateString, typeState } from '../state.ts';

/**
 * Thread/changes (RFC 8621 §3.2): the Thread change log; a thread whose last Email went away is
 * reported destroyed.
 */
export const threadChanges: MethodDefinition = {
  capability: CAPABILITIES.mail,
  async run(args, ctx) {
    const accountId = ctx.account(args);
    const current = await typeState(ctx.services, accountId, 'Thread');
    const since = parseState(args.requiredString('sinceState'), current);
    const c = await ctx.services.mail.changesSince(accountId, 'Thread', since, maxChanges(args, 5000));
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
    return {
      accountId: ctx.accountId,
      oldState: stateString(since),
      newState: stateString(c.newState),
      hasMoreChanges: c.hasMoreChanges,
      created: c.created.filter((id) => alive.has(id)).map((id) => toId('thread', id)),
      updated: c.updated.filter((id) => alive.has(id)).map((id) => toId('thread', id)),
      destroyed: destroyed.map((id) => toId('thread', id)),
    };
  },
};
