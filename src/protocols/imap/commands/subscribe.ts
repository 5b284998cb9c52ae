import { SIGNED_IN, userOf } from '../state.ts';
import { command, no, ok } from '../context.ts';

/** SUBSCRIBE / UNSUBSCRIBE (RFC 9051 §6.3.7, §6.3.8) for existing mailboxes. */
export const subscribe = command({
  names: ['SUBSCRIBE', 'UNSUBSCRIBE'],
  states: SIGNED_IN,
  async run(ctx, cmd) {
    const user = userOf(ctx.state)!;
    const name = ctx.mailboxFromWire(cmd.mailbox);
    const mailbox = name === null ? undefined : await ctx.deps.mail.getMailbox(user.accountId, name);
    if (!mailbox) return no('No such mailbox', 'NONEXISTENT');
    await ctx.deps.mail.setSubscribed(user.accountId, mailbox.name, cmd.name === 'SUBSCRIBE');
    return ok(`${cmd.name} completed`);
  },
});
