import { SIGNED_IN, userOf } from '../state.ts';
import { command, no, ok } from '../context.ts';
import { resolveMailbox } from '../shared-mailboxes.ts';

/**
 * SUBSCRIBE / UNSUBSCRIBE (RFC 9051 §6.3.7, §6.3.8): the subscription list holds names. SUBSCRIBE
 * checks that the mailbox exists (the RFC allows it); UNSUBSCRIBE also removes a name whose
 * mailbox is gone, and says NO only when the name was never subscribed and no such mailbox exists.
 */
export const subscribe = command({
  names: ['SUBSCRIBE', 'UNSUBSCRIBE'],
  states: SIGNED_IN,
  async run(ctx, cmd) {
    const user = userOf(ctx.state)!;
    const name = ctx.mailboxFromWire(cmd.mailbox);
    if (name === null) return no('No such mailbox', 'NONEXISTENT');
    const mailbox = (await resolveMailbox(ctx.deps, user, name))?.mailbox;
    if (cmd.name === 'SUBSCRIBE') {
      if (!mailbox) return no('No such mailbox', 'NONEXISTENT');
      await ctx.deps.mail.setSubscribed(user.accountId, mailbox.name, true);
      return ok('SUBSCRIBE completed');
    }
    const changed = await ctx.deps.mail.setSubscribed(user.accountId, mailbox?.name ?? name, false);
    if (!changed && !mailbox) return no('Not subscribed and no such mailbox', 'NONEXISTENT');
    return ok('UNSUBSCRIBE completed');
  },
});
