import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { toId } from '../ids.ts';
import { queryChangesResponse } from '../query-changes.ts';
import { parseState, typeState } from '../state.ts';
import { mailboxChangesSince } from './changes.ts';
import { mailboxObjects } from './object.ts';
import { parseMailboxQuery, runMailboxQuery } from './query.ts';

/** Mailbox/queryChanges (RFC 8621 §2.4): the standard /queryChanges over the Mailbox change log. */
export const mailboxQueryChanges: MethodDefinition = {
  capability: CAPABILITIES.mail,
  async run(args, ctx) {
    const accountId = ctx.account(args);
    const q = parseMailboxQuery(args);
    const max = args.uint('maxChanges');
    const current = await typeState(ctx.services, accountId, 'Mailbox');
    const since = parseState(args.requiredString('sinceQueryState'), current);
    const changes = await mailboxChangesSince(ctx.services, accountId, since, Number.MAX_SAFE_INTEGER);
    const all = await mailboxObjects(ctx.services, accountId, false, ctx.shared);
    return queryChangesResponse({
      accountId: ctx.accountId,
      oldState: since,
      newState: current,
      currentIds: runMailboxQuery(all, q),
      touched: {
        created: new Set(changes.created.map((id) => toId('mailbox', id))),
        changed: new Set([...changes.updated, ...changes.destroyed].map((id) => toId('mailbox', id))),
      },
      maxChanges: max,
      calculateTotal: args.boolean('calculateTotal', false),
    });
  },
};
