import { SIGNED_IN } from '../state.ts';
import { command, no, ok } from '../context.ts';
import { statusLine } from '../status-items.ts';

/** STATUS (RFC 9051 §6.3.11): counts of any mailbox, also the selected one. */
export const status = command({
  names: ['STATUS'],
  states: SIGNED_IN,
  async run(ctx, cmd) {
    const name = ctx.mailboxFromWire(cmd.mailbox);
    const user = ctx.state.kind === 'notAuthenticated' || ctx.state.kind === 'logout' ? null : ctx.state.user;
    const mailbox = name === null || !user ? undefined : await ctx.deps.mail.getMailbox(user.accountId, name);
    if (!mailbox) return no('No such mailbox', 'NONEXISTENT');
    if (cmd.items.includes('HIGHESTMODSEQ')) ctx.useCondstore();
    ctx.send(await statusLine(ctx, mailbox, cmd.items));
    return ok('STATUS completed');
  },
});
